"""Charity logos: what an upload must be, and what is stored instead of it.

The upload is identified by its content (Pillow's own sniffing), never by its name or the
browser's content type: PNG, JPEG or WebP only, at most LOGO_MAX_BYTES, each side between
LOGO_MIN_SIDE and LOGO_MAX_SIDE pixels. It is decoded, fitted inside LOGO_BOX and
re-encoded as PNG, so what is stored and served is an image we wrote: no metadata (EXIF,
GPS), no trailing bytes, no polyglot file.
"""

import io

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, UnidentifiedImageError

LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MIN_SIDE = 64
LOGO_MAX_SIDE = 4096
LOGO_BOX = (512, 512)
LOGO_FORMATS = {"PNG", "JPEG", "WEBP"}


def prepare_logo(upload) -> ContentFile:
    """A re-encoded PNG of an uploaded logo, or ValidationError({"logo": ...})."""
    size = getattr(upload, "size", None)
    if size is None or size > LOGO_MAX_BYTES:
        raise ValidationError({"logo": "The logo must be at most 2 MB."})
    upload.seek(0)
    data = upload.read(LOGO_MAX_BYTES + 1)
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError({"logo": "The logo must be at most 2 MB."})
    try:
        with Image.open(io.BytesIO(data), formats=sorted(LOGO_FORMATS)) as image:
            width, height = image.size
            if not (min(width, height) >= LOGO_MIN_SIDE and max(width, height) <= LOGO_MAX_SIDE):
                raise ValidationError(
                    {
                        "logo": f"The logo is {width} x {height} pixels; each side must be "
                        f"between {LOGO_MIN_SIDE} and {LOGO_MAX_SIDE}."
                    }
                )
            image.load()  # decode now, so a truncated or corrupt file is refused here
            image = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise ValidationError({"logo": "The logo must be a PNG, JPEG or WebP image."}) from None
    image.thumbnail(LOGO_BOX, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name="logo.png")
