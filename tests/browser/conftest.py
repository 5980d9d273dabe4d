"""Browser tests: Playwright (sync API) driving Debian's Chromium against `live_server`."""

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# body are still synchronous and safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# On SQLite the test database lives in memory and the live server's threads share the test's
# one connection with the test body. Parallel use of it fails with "database table is locked",
# so there every request, and every database block of a test, takes this lock. PostgreSQL keeps
# real concurrency, as in production.
_DB_LOCK = threading.RLock()
# Requests being served: the end of a test waits for them, or the database flush would race a
# request the closed browser left behind (a deadlock on PostgreSQL).
_IN_FLIGHT = {"n": 0}
_IDLE = threading.Condition()


@contextmanager
def server_paused():
    """Run the test body's database reads while no request is being served (SQLite)."""
    with _DB_LOCK:
        yield


def wait_until_server_idle(timeout: float = 20.0) -> None:
    with _IDLE:
        _IDLE.wait_for(lambda: _IN_FLIGHT["n"] == 0, timeout=timeout)


@pytest.fixture(scope="session", autouse=True)
def _instrument_live_server():
    from django.conf import settings
    from django.core.servers.basehttp import ThreadedWSGIServer
    from django.test.testcases import LiveServerThread

    serialise = "sqlite" in settings.DATABASES["default"]["ENGINE"]

    class InstrumentedServer(ThreadedWSGIServer):
        def set_app(self, application):
            def app(environ, start_response):
                with _IDLE:
                    _IN_FLIGHT["n"] += 1
                try:
                    if serialise:
                        with _DB_LOCK:
                            return application(environ, start_response)
                    return application(environ, start_response)
                finally:
                    with _IDLE:
                        _IN_FLIGHT["n"] -= 1
                        _IDLE.notify_all()

            super().set_app(app)

    original = LiveServerThread.server_class
    LiveServerThread.server_class = InstrumentedServer
    try:
        yield
    finally:
        LiveServerThread.server_class = original


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian chromium is not installed (.ci/run installs it: apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        yield page
    finally:
        context.close()
        wait_until_server_idle()


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
