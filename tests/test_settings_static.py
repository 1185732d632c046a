"""Static files: hashed names from `collectstatic`'s manifest when DEBUG is off, served."""

import os
import re
import subprocess
import sys

from django.conf import settings

from tests.e2e.servers import Daphne

MANIFEST = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
PLAIN = "django.contrib.staticfiles.storage.StaticFilesStorage"


def environment(tmp_path, **overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("DATABASE_URL", None)
    env.pop("CHAT_STATIC_MANIFEST", None)  # the pytest session's 0: the defaults are tested
    env.update(
        CHAT_VAR_DIR=str(tmp_path), DJANGO_SECRET_KEY="test", DJANGO_DEBUG="0",
        DJANGO_SETTINGS_MODULE="chatproject.settings", PYTHONUNBUFFERED="1",
    )  # fmt: skip
    env.update(overrides)
    return env


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def storage(env):
    script = "from django.conf import settings; print(settings.STORAGES['staticfiles']['BACKEND'])"
    result = manage(env, "shell", "-v", "0", "-c", script)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_storage__manifest_unless_debug_or_turned_off(tmp_path):
    assert storage(environment(tmp_path)) == MANIFEST
    assert storage(environment(tmp_path, DJANGO_DEBUG="1")) == PLAIN
    assert storage(environment(tmp_path, CHAT_STATIC_MANIFEST="0")) == PLAIN


def test_collectstatic__pages_link_hashed_files_the_app_serves(tmp_path):
    env = environment(tmp_path)
    for command in (("migrate", "--noinput"), ("collectstatic", "--noinput", "-v", "0")):
        result = manage(env, *command)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()
    daphne = Daphne(env, tmp_path, "daphne").start()
    try:
        status, page = daphne.get("/")
        assert status == 200
        links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.decode())
        assert links and all(re.search(r"\.[0-9a-f]{12}\.(css|js)$", link) for link in links)
        for link in links:
            status, body = daphne.get(link)
            assert status == 200 and body, link
        assert daphne.get("/static/staticfiles.json")[0] == 404  # bookkeeping, not served
        assert daphne.get("/static/chat/nope.0123456789ab.js")[0] == 404
    finally:
        daphne.stop()
