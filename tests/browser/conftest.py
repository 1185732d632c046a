"""A real chat for the browser tests: its own redis-server, SQLite file and daphne process.

Not the session's Redis: the outage test stops and starts this one. Everything started
here is stopped by its PID at the end, and every wait is bounded.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scripts.redis_server import RedisServer, free_port
from tests.browser.helpers import PASSWORD, log_in

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


class ChatServer:
    """daphne on a free port with its own Redis and database, in folder."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.redis = RedisServer(self.folder / "redis", port=free_port())
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.folder / "daphne.log"
        self.process = None
        self.env = {
            **os.environ,
            "REDIS_URL": self.redis.url,
            "DATABASE_URL": f"sqlite:///{self.folder / 'db.sqlite3'}",
            "CHAT_VAR_DIR": str(self.folder),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "test",
            "DJANGO_SETTINGS_MODULE": "chatproject.settings",
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args, timeout=60):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, timeout=timeout, check=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def shell(self, code, **names):
        """Run code in `manage.py shell` with names bound (as repr'd constants)."""
        prelude = "".join(f"{key} = {value!r}\n" for key, value in names.items())
        return self.manage("shell", "-c", prelude + code).stdout

    def start(self):
        self.redis.start()
        self.manage("migrate", "--noinput")
        self.shell(SEED, PASSWORD=PASSWORD, USERS=USERS)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                 "chatproject.asgi:application"],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        self.wait_healthy(30)
        return self

    def wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"daphne was not ready within {timeout} s:\n{self.log()}")

    def log(self, tail=4000):
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # daphne closes its sockets with 4001, then exits
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.redis.stop()


@pytest.fixture(scope="package")
def chat_server():
    folder = tempfile.mkdtemp(prefix="chat-browser-")
    server = ChatServer(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="package")
def browser():
    # Package scope: Playwright's sync API runs an event loop in this thread until it is
    # stopped, which would break every asyncio test collected after the browser ones.
    from playwright import sync_api

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
    """An empty page with the client's pure module (core.js) loaded, no server needed."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.set_content("<!doctype html><html><head><title>client</title></head><body></body></html>")
    page.add_script_tag(path=str(STATIC / "core.js"))
    yield page
    context.close()
