import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from redis_core import ssot
from redis_core.manager import RedisManager


def run(*args):
    out = __import__("io").StringIO()
    try:
        call_command("check_redis_ssot", *args, stdout=out)
        return 0, out.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue()


def test_all_checks_pass(redis_server):
    code, out = run()
    lines = out.strip().splitlines()
    assert code == 0
    assert [line.split()[0] for line in lines] == ["PASS"] * len(ssot.CHECKS)
    names = {line.split()[1].rstrip(":") for line in lines}
    assert names == {
        "single_manager", "legacy_paths", "channel_layer", "source_scan",
        "redis_answers", "layer_round_trip",
    }  # fmt: skip


def test_json__one_document(redis_server):
    code, out = run("--json")
    document = json.loads(out)
    assert code == 0 and document["ok"] is True
    assert all(set(check) == {"name", "ok", "detail"} for check in document["checks"])


def test_redis_down__fails_readably_without_traceback(redis_server, tmp_path):
    redis_server.stop()
    env = {**__import__("os").environ, "REDIS_URL": redis_server.url}
    result = subprocess.run(
        [sys.executable, "manage.py", "check_redis_ssot"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "FAIL redis_answers" in result.stdout and "does not answer" in result.stdout
    assert "FAIL layer_round_trip" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_second_manager__fails_single_manager(redis_server):
    rogue = RedisManager(redis_server.url)
    code, out = run()
    assert code != 0 and "FAIL single_manager" in out
    del rogue


def test_stock_layer__fails_channel_layer(settings, redis_server):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_server.url]},
        }
    }
    channel_layers.backends.clear()
    try:
        assert ssot.check_channel_layer().ok is False
        assert "SharedRedisChannelLayer" in ssot.check_channel_layer().detail
    finally:
        channel_layers.backends.clear()


def test_rogue_source__fails_source_scan(settings, tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "cache.py").write_text("import redis\nr = redis.Redis()\n")
    settings.BASE_DIR = tmp_path
    result = ssot.check_source_scan()
    assert result.ok is False and "app/cache.py:2" in result.detail


def test_broken_legacy_path__fails_legacy_paths(monkeypatch):
    from redis_core import legacy

    legacy.legacy_modules()  # the listed modules register themselves on import
    entries = {**legacy._registry["chat.redis_client"], "redis": (lambda: object(), "x")}
    monkeypatch.setitem(legacy._registry, "chat.redis_client", entries)
    result = ssot.check_legacy_paths()
    assert (
        result.ok is False
        and "chat.redis_client.redis is not the manager's object" in result.detail
    )


def test_listed_module_without_names__fails_legacy_paths(settings):
    settings.REDIS_CORE_LEGACY_MODULES = [*settings.REDIS_CORE_LEGACY_MODULES, "redis_core.scan"]
    result = ssot.check_legacy_paths()
    assert result.ok is False and "redis_core.scan declares no deprecated names" in result.detail


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_exit_status_is_zero_only_when_all_pass(redis_server, flag):
    assert run(*flag)[0] == 0
    rogue = RedisManager(redis_server.url)
    assert run(*flag)[0] == 1
    del rogue
