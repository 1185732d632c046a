"""Django system checks redis_core.E00x / W00x: one scenario each, compared as lists."""

from django.core import checks
from django.test import override_settings

from redis_core.checks import (
    E004,
    SHARED_BACKEND,
    TAG,
    W001,
    check_channel_layers,
    check_debug_hosts,
    check_redis_settings,
    e001,
    e002,
    e003,
    e005,
    w002,
)

SHARED = {"default": {"BACKEND": SHARED_BACKEND, "CONFIG": {"capacity": 1000}}}


def test_checks__pass_with_the_project_settings():
    assert check_redis_settings(None) == []
    assert check_channel_layers(None) == []


def test_checks__registered_under_the_redis_tag():
    assert TAG in checks.registry.registry.tags_available()
    with override_settings(CHANNEL_LAYERS={}):
        found = checks.run_checks(tags=[TAG])
    assert E004 in found


@override_settings(REDIS_URL_FROM_ENV=False, DEBUG=False)
def test_w001__no_redis_url_in_production():
    assert check_redis_settings(None) == [W001]


@override_settings(REDIS_URL_FROM_ENV=False, DEBUG=True)
def test_w001__not_raised_in_development():
    assert check_redis_settings(None) == []


@override_settings(REDIS_URL="http://127.0.0.1:6379/0")
def test_e001__unusable_scheme():
    found = check_redis_settings(None)
    assert found == [
        e001(
            "REDIS_URL scheme 'http' is not one of redis://, rediss://, unix://, "
            "redis+sentinel://, rediss+sentinel://."
        )
    ]
    assert "rediss://" in found[0].hint


@override_settings(REDIS_URL="redis://127.0.0.1:notaport/0")
def test_e001__invalid_port():
    [error] = check_redis_settings(None)
    assert error.id == "redis_core.E001"
    assert "port" in error.msg


@override_settings(REDIS_URL="")
def test_e001__empty_url():
    [error] = check_redis_settings(None)
    assert error.id == "redis_core.E001"


@override_settings(REDIS_URL="redis://127.0.0.1:6379/0?socket_timeout=5&max_connections=100")
def test_e005__url_options_override_the_manager():
    assert check_redis_settings(None) == [e005(["socket_timeout", "max_connections"])]


@override_settings(REDIS_URL="rediss://user:pw@redis.example:6380/2?ssl_cert_reqs=required")
def test_e005__tls_options_in_the_url_are_fine():
    assert check_redis_settings(None) == []


@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}})
def test_e002__backend_bypasses_the_manager():
    assert check_channel_layers(None) == [e002("default", "channels_redis.core.RedisChannelLayer")]


@override_settings(
    CHANNEL_LAYERS={
        "default": {"BACKEND": SHARED_BACKEND},
        "other": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://10.0.0.5:6379/0", ("10.0.0.5", 6380)]},
        },
    }
)
def test_e003__address_repeated_in_channel_layers():
    found = check_channel_layers(None)
    assert found == [
        e002("other", "channels_redis.pubsub.RedisPubSubChannelLayer"),
        e003(["('10.0.0.5', 6380)", "redis://10.0.0.5:6379/0"]),
    ]
    assert "REDIS_URL" in found[1].hint


@override_settings(CHANNEL_LAYERS={})
def test_e004__no_default_layer():
    assert check_channel_layers(None) == [E004]


@override_settings(DEBUG=True, ALLOWED_HOSTS=["localhost", "chat.example.com"])
def test_w002__debug_with_public_hosts():
    assert check_debug_hosts(None) == [w002(["chat.example.com"])]


@override_settings(DEBUG=True, ALLOWED_HOSTS=["127.0.0.1", "localhost"])
def test_w002__debug_on_loopback_is_fine():
    assert check_debug_hosts(None) == []


@override_settings(DEBUG=False, ALLOWED_HOSTS=["chat.example.com"])
def test_w002__public_hosts_without_debug_are_fine():
    assert check_debug_hosts(None) == []


def test_every_message_has_a_hint_and_an_id():
    messages = [W001, E004, e001("x"), e002("a", "b"), e003(["c"]), e005(["e"]), w002(["d"])]
    assert all(m.hint and m.id.startswith("redis_core.") for m in messages)
    assert len({m.id for m in messages}) == len(messages)


def test_manage_py_check__bad_redis_url_is_e001_with_a_hint_and_no_traceback():
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {**os.environ, "REDIS_URL": "http://127.0.0.1:6379/0"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "redis_core.E001" in result.stderr and "HINT:" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
