from django.conf import settings


def site(request):
    return {"DEMO_BILLING": settings.DEMO_BILLING, "SITE_NAME": "Hometown Fund"}
