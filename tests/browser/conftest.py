"""A real chat for the browser tests: its own redis-server, SQLite file and daphne process
(tests/e2e/servers.py's Stack). Not the session's Redis: the outage test stops and starts
this one. Everything started here is stopped by its PID at the end; every wait is bounded.
"""

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.browser.helpers import PASSWORD, log_in
from tests.e2e.servers import Stack

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
USERS = ("alice", "bob", "carol")
TIMEOUT_MS = 10_000

# Seeds the database of the browser tests' server (run with `manage.py shell -c`).
SEED = """
from django.contrib.auth import get_user_model
from chat import services
from chat.models import Membership, Room
User = get_user_model()
users = {n: User.objects.create_user(n, password=PASSWORD) for n in USERS}
User.objects.create_superuser("mod", password=PASSWORD)
room = services.get_or_create_room("history")
for i in range(1, 121):
    services.post_message(room.pk, users["carol"], f"history message {i}", f"seed-{i}")
team = Room.objects.create(name="team-secret", is_private=True, owner=users["bob"])
Membership.objects.create(room=team, user=users["alice"])
"""


@pytest.fixture(scope="package")
def chat_server(tmp_path_factory):
    """daphne with its own Redis and SQLite database (tests/e2e/servers.py), seeded."""
    stack = Stack(tmp_path_factory.mktemp("browser"))
    try:
        stack.start()
        stack.manage("shell", "-c", f"PASSWORD = {PASSWORD!r}\nUSERS = {USERS!r}\n{SEED}")
        daphne = stack.start_daphne(1)[0]
        yield SimpleNamespace(url=daphne.url, redis=stack.redis, daphne=daphne)
    finally:
        stack.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test carries what the server logged while it ran (access lines
    left out) and the page errors: a flake in CI is then readable from the report alone."""
    report = yield
    server = item.funcargs.get("chat_server") if hasattr(item, "funcargs") else None
    if report.failed and server is not None and call.when == "call":
        started = getattr(item, "started_at", None)
        lines = [
            line
            for line in server.daphne.log_text().splitlines()
            if "logger=daphne.access" not in line and (started is None or _at(line) >= started)
        ]
        report.sections.append(("daphne log during the test", "\n".join(lines[-200:])))
    return report


def _at(line):
    """The ts= of a log line as "YYYY-MM-DDTHH:MM:SS" (compared as text), "" when none."""
    return line[3:22] if line.startswith("ts=") else ""


@pytest.fixture(autouse=True)
def _mark_start(request):
    request.node.started_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))


@pytest.fixture(scope="package")
def browser():
    # Package scope: Playwright's sync API runs an event loop in this thread until it is
    # stopped, which would break every asyncio test collected after the browser ones.
    from playwright import sync_api

    # Every expect() waits as long as every action (10 s, not Playwright's 5 s): on a CI
    # machine with two loaded cores a socket closed with 4013 is back after a backoff of up
    # to 5 s, and what it had in flight arrives then (the outbox sends it again).
    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: run `bash scripts/ensure_chromium.sh` (make chromium)."
        )
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=30_000
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="package")
def logged_in_states():
    """user -> Playwright storage state (the session cookie): each user logs in once."""
    return {}


@pytest.fixture
def open_page(browser, chat_server, logged_in_states):
    """open_page(user=None, path="/", **context options) -> a page of its own browser context."""
    contexts = []

    def open_(user=None, path="/", **options):
        options.setdefault("viewport", {"width": 1280, "height": 800})
        if user in logged_in_states:
            options["storage_state"] = logged_in_states[user]
        context = browser.new_context(base_url=chat_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        if user is not None and user not in logged_in_states:
            log_in(page, user)
            logged_in_states[user] = context.storage_state()
        page.goto(path)
        return page

    yield open_
    for context in contexts:
        context.close()


STATIC = ROOT / "chat" / "static" / "chat"


@pytest.fixture
def blank_page(browser):
    """An empty page with the client's pure modules (core.js, eventlog.js, inbox.js, and
    search.js's highlighting) loaded, no server needed."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.set_content("<!doctype html><html><head><title>client</title></head><body></body></html>")
    for module in ("core.js", "eventlog.js", "inbox.js", "search.js"):
        page.add_script_tag(path=str(STATIC / module))
    yield page
    context.close()
