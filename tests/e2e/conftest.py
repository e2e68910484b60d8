"""Browser tests: Playwright (Python, sync API) driving Debian's /usr/bin/chromium against
pytest-django's live_server.

- Without Chromium or Playwright these tests are skipped on a laptop, but with
  REQUIRE_SERVICES=1 (CI) they fail: a missing browser must never pass silently.
- Playwright's sync API runs an asyncio loop in this thread, and Django refuses ORM calls
  from a thread with a running loop; the tests set up data with the ORM between browser
  steps, which is safe here (one thread talks to the database at a time), so
  DJANGO_ALLOW_ASYNC_UNSAFE is set while the browser is open, and only then.
- Nothing leaves the machine: requests for any other site (map tiles) are aborted.
- Screenshots of the main pages, desktop (1280 px) and phone (360 px), go to
  artifacts/screenshots/ (gitignored; CI keeps them as artifacts).
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") not in ("", "0")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}
PASSWORD = "correct horse battery"


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    missing = _missing_browser()
    if missing:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 and the browser tests cannot run: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield from _launch(sync_playwright)
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _launch(sync_playwright):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
            ],
        )
        yield browser
        browser.close()


def block_other_sites(context, live_server) -> list[str]:
    """No network in tests: every request that is not for the live server (map tiles
    above all) is aborted, as a machine without internet would; the aborted URLs are
    returned (a live list) so a test can assert what the page tried to reach."""
    blocked: list[str] = []

    def handle(route):
        url = route.request.url
        if url.startswith(live_server.url) or url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", handle)
    return blocked


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.blocked_requests = block_other_sites(context, live_server)
    page.set_default_timeout(15_000)
    page.csp_errors = []
    page.on(
        "console",
        lambda msg: (
            page.csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None
        ),
    )
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    """Save the current page at desktop and phone widths, and check that the phone view
    has no horizontal scrolling (everything readable at 360 px)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(100)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size(DESKTOP)
    assert overflow <= PHONE["width"], f"{name} scrolls sideways at 360 px ({overflow} px)"


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form.auth-form button[type=submit]").click()
    page.wait_for_url("**/dashboard/")


@pytest.fixture
def verified_donor(db):
    """A donor in Springfield, VT whose email is verified, so they can log in."""
    from allauth.account.models import EmailAddress

    from tests.factories import UserFactory

    user = UserFactory(
        email="erin@example.org", name="Erin", city="Springfield", state="VT", zip_code="05156"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user
