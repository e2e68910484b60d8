"""Settings for benchmarks/web.py: the real settings plus one extra URL, the floor view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.bench_urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "benchmarks" / "templates"]  # noqa: F405
