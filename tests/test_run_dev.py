"""`make run`'s script: a development Redis, migrations and daphne, stopped together."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings

from scripts.redis_server import free_port


def test_run_dev__serves_the_chat_on_its_own_redis_and_stops_it(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(CHAT_VAR_DIR=str(tmp_path), CHAT_PORT=str(port), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "run.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "scripts/run_dev.py"], cwd=settings.BASE_DIR, env=env,
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        ready = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    ready = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.2)
        assert ready is not None, (tmp_path / "run.log").read_text()
        assert ready["status"] == "ok" and ready["checks"]["redis"]["ok"]
        socket_path = tmp_path / "redis" / "redis.sock"
        assert socket_path.exists()  # the development Redis, on a unix socket under var/
        check = subprocess.run(
            [sys.executable, "manage.py", "check_redis_ssot"], cwd=settings.BASE_DIR,
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        assert check.stdout.count("PASS") == 6 and str(socket_path) in check.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
            log.close()
    output = (tmp_path / "run.log").read_text()
    assert "Stopped the development Redis" in output
    assert not socket_path.exists()  # redis-server removes its socket when it stops
