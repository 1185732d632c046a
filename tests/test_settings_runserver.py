"""`manage.py runserver` is daphne's: it serves HTTP and WebSocket, and logs in key=value."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from websockets.sync.client import connect

from scripts.redis_server import free_port

PREFIX = re.compile(r"^ts=\S+ level=[A-Z]+ logger=\S+ ")


def environment(tmp_path):
    """The test session's Redis (REDIS_URL from tests/redis_plugin.py), a database of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("DATABASE_URL", None)
    env.update(
        CHAT_VAR_DIR=str(tmp_path), DJANGO_DEBUG="0", DJANGO_SECRET_KEY="test",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", PYTHONUNBUFFERED="1",
    )  # fmt: skip
    return env


def get(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def runserver(tmp_path):
    """`manage.py runserver 127.0.0.1:<port> --noreload`, ready; stopped by its PID."""
    env = environment(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=settings.BASE_DIR, env=env,
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    log_path = tmp_path / "runserver.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=settings.BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"runserver did not serve /healthz:\n{log_path.read_text()[-3000:]}")
        yield port, log_path
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_runserver__serves_websocket_hello(runserver):
    port, log_path = runserver
    with connect(
        f"ws://127.0.0.1:{port}/ws/chat/lobby/", origin=f"http://127.0.0.1:{port}",
        open_timeout=10, close_timeout=5,
    ) as ws:  # fmt: skip
        hello = json.loads(ws.recv(timeout=10))
    assert hello["type"] == "hello", hello


def test_runserver__log_lines_key_value_django_request_and_access_included(runserver):
    """Its log lines are key=value (its banner, "Starting ASGI/Daphne ...", is console text)."""
    port, log_path = runserver
    assert get(f"http://127.0.0.1:{port}/no-such-page")[0] == 404
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = log_path.read_text().splitlines()
        if any("/no-such-page" in line and "django.channels.server" in line for line in lines):
            break
        time.sleep(0.1)
    not_found = [line for line in lines if "Not Found: /no-such-page" in line]
    access = [line for line in lines if "/no-such-page" in line and "channels.server" in line]
    assert len(not_found) == 1 and len(access) == 1, lines
    assert PREFIX.match(not_found[0]) and "logger=django.request " in not_found[0]
    assert not_found[0].endswith('msg="Not Found: /no-such-page"')
    assert (
        PREFIX.match(access[0]) and " logger=django.channels.server " in access[0]
    )  # 404: WARNING


def test_daphne_is_first_and_its_server_not_imported_by_setup():
    """Listing daphne costs management commands nothing: Twisted loads only when serving."""
    assert settings.INSTALLED_APPS[0] == "chatproject.apps.DaphneConfig"
    script = (
        "import sys, django; django.setup(); "
        "print('daphne.server' in sys.modules, 'twisted.internet' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=settings.BASE_DIR, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "chatproject.settings"}, timeout=60,
    )  # fmt: skip
    assert result.stdout.split() == ["False", "False"], result.stderr
