"""Browser tests: Debian's headless Chromium driven by Playwright, against a live server on loopback.

Every page a test visits is checked with axe-core (vendored in `vendor/`, MPL-2.0): a serious or
critical accessibility violation fails the test.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason="no Chromium: apt-get install chromium (.ci/run does)"))


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:  # noqa: ANN001
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # The flags keep Chromium from calling Google's services on this closed network.
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:  # noqa: ANN001
    # bypass_csp: our CSP forbids inline scripts, and axe-core is injected as one.
    context = browser.new_context(base_url=live_server, locale="fr-FR", bypass_csp=True)
    # Nothing but the live server may be requested: a CDN or third-party call fails the test.
    outside: list[str] = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server)
                  else (outside.append(route.request.url), route.abort()))
    page = context.new_page()
    yield page
    context.close()
    assert outside == [], f"pages requested outside addresses: {outside}"


def check_accessibility(page) -> None:  # noqa: ANN001
    """Run axe-core on the current page; fail on any serious or critical violation."""
    page.add_script_tag(content=AXE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"accessibility violations on {page.url}:\n" + "\n".join(bad)


def navigate(page, locator) -> None:  # noqa: ANN001
    """Click a link or a submit button and wait for the page it leads to.

    Playwright's click() no longer waits for the navigation it starts: reading the page right after a click
    could read the old one (or see it torn down mid-read)."""
    with page.expect_navigation():
        locator.click()


def login(page, email: str, password: str) -> None:  # noqa: ANN001
    page.goto("/login")
    check_accessibility(page)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    navigate(page, page.get_by_role("button", name="Se connecter"))
