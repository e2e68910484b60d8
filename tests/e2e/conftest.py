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
- Accessibility: every page any browser of a test shows is checked with axe-core
  (vendor/axe-core/, tests only) for WCAG 2.0 and 2.1 A and AA problems, and one fails
  the test (AxeAudit below). Nothing to do in a new test: any context made from the
  `browser` fixture is watched.
"""

import hashlib
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

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


# --- accessibility: axe-core on every page a test visits ------------------------------------

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # 4.14.1
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = """async (tags) => {
    const results = await axe.run(document, {
        runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
    });
    return results.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({
            target: n.target.map(String), html: n.html, summary: n.failureSummary,
        })),
    }));
}"""
AXE_KEY = pytest.StashKey["AxeAudit"]()


class AxeAudit:
    """Records every page the main frame of any page of a watched browser context shows
    (its URL on the live server and the viewport at that moment), and checks each with
    axe-core: once the test's own steps are done, or when the test closes a context
    itself. Each distinct URL and viewport is opened again with GET in a new page of the
    same context (so with the same login), at that viewport, and checked after its load
    (scripts have run). Pages that are not HTML (a CSV) are skipped.

    axe is added with add_init_script, through the browser's DevTools protocol: the site's
    Content Security Policy (script-src 'self', no inline script) blocks a <script> tag
    that page.add_script_tag would insert, and does not apply here; the site itself never
    serves axe. Revisiting shows each page as it stands at the end of the test (the
    person's last login, the rows written since)."""

    def __init__(self, origin: str):
        self.origin = origin
        self.visits: dict[object, dict[tuple[str, int, int], None]] = {}
        self.problems: list[str] = []
        self.pages_checked = 0
        self.auditing = False
        self.finished = False

    # -- watching --
    def watch(self, context) -> None:
        self.visits.setdefault(context, {})
        context.on("page", self._watch_page)
        for page in context.pages:
            self._watch_page(page)
        close = context.close

        def close_after_the_check(*args, **kwargs):
            if not self.finished:
                self.check(context)
            return close(*args, **kwargs)

        context.close = close_after_the_check

    def _watch_page(self, page) -> None:
        page.on("framenavigated", lambda frame: self._navigated(page, frame))

    def _navigated(self, page, frame) -> None:
        if self.auditing or frame != page.main_frame:
            return
        url = frame.url.split("#", 1)[0]
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            return  # another site (Stripe's Checkout in a fake), about:blank, data:
        size = page.viewport_size or DESKTOP
        self.visits.setdefault(page.context, {})[(url, size["width"], size["height"])] = None

    # -- checking --
    def check(self, context) -> None:
        from playwright.sync_api import Error as PlaywrightError

        visits = list(self.visits.pop(context, {}))
        if not visits:
            return
        self.auditing = True

        def fresh_checker():
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.add_init_script(path=str(AXE_JS))
            return page

        checker = fresh_checker()
        try:
            for url, width, height in visits:
                checker.set_viewport_size({"width": width, "height": height})
                try:
                    response = checker.goto(url, wait_until="load")
                except PlaywrightError as exc:
                    # A page that only answers a POST (a form's error page, an action's
                    # endpoint) refuses the revisit with an empty 405: not a page to audit.
                    # The tab is left on Chromium's error page; the next URL gets a new one.
                    if "ERR_HTTP_RESPONSE_CODE_FAILURE" not in str(exc):
                        raise
                    checker.close()
                    checker = fresh_checker()
                    continue
                if response is None or response.status == 405:
                    continue
                if "text/html" not in response.headers.get("content-type", ""):
                    continue
                violations = checker.evaluate(AXE_RUN, AXE_TAGS)
                self.pages_checked += 1
                self.problems.extend(_describe(url, width, v) for v in violations)
        finally:
            checker.close()
            self.auditing = False

    def check_all(self) -> None:
        for context in list(self.visits):
            self.check(context)
        self.finished = True
        if self.problems:
            raise AssertionError(
                f"axe-core found {len(self.problems)} WCAG 2.1 A/AA problem(s) on the pages "
                "this test visited (tests/e2e/conftest.py, AxeAudit):\n\n"
                + "\n\n".join(self.problems)
            )


def _describe(url: str, width: int, violation: dict) -> str:
    path = urlsplit(url)
    where = path.path + (f"?{path.query}" if path.query else "")
    lines = [
        f"{where} at {width} px: {violation['id']} ({violation['impact']}): "
        f"{violation['help']}. {violation['helpUrl']}"
    ]
    for node in violation["nodes"][:10]:
        summary = " ".join((node["summary"] or "").split())
        lines.append(f"  - {' '.join(node['target'])}: {node['html'][:160]}")
        if summary:
            lines.append(f"    {summary[:300]}")
    if len(violation["nodes"]) > 10:
        lines.append(f"  ... and {len(violation['nodes']) - 10} more elements")
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def _axe_audit(request, monkeypatch):
    """Watches every browser context the test makes (the page fixture's and any other)."""
    if "browser" not in request.fixturenames:
        yield None
        return
    digest = hashlib.sha256(AXE_JS.read_bytes()).hexdigest()
    assert digest == AXE_SHA256, f"{AXE_JS} is not axe-core 4.14.1 (vendor/axe-core/README.md)"
    browser = request.getfixturevalue("browser")
    live_server = request.getfixturevalue("live_server")
    audit = AxeAudit(live_server.url)
    new_context = browser.new_context

    def new_watched_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        # axe is a script: a context with JavaScript off cannot run it (its evaluation
        # never settles). Its pages are the same URLs the other tests audit with script on.
        if kwargs.get("java_script_enabled", True):
            audit.watch(context)
        return context

    def new_watched_page(*args, **kwargs):
        # Browser.new_page's own context would escape the watch: make it here instead.
        page = new_watched_context(*args, **kwargs).new_page()
        return page

    monkeypatch.setattr(browser, "new_context", new_watched_context)
    monkeypatch.setattr(browser, "new_page", new_watched_page)
    request.node.stash[AXE_KEY] = audit
    yield audit
    audit.finished = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the test's own steps pass, check the pages it visited: a problem fails the
    test itself (not its teardown). A test that failed already is left as it failed."""
    audit = item.stash.get(AXE_KEY, None)
    try:
        result = yield
    except BaseException:
        if audit is not None:
            audit.finished = True  # closing its contexts checks nothing more
        raise
    if audit is not None:
        audit.check_all()
    return result
