"""The Sentinel form of REDIS_URL and its settings, parsed and checked in one place
(redis_core.sentinel, redis_core.options; REDIS_LOSS_GRACE and CSRF_TRUSTED_ORIGINS in
chatproject.env). Pure: no Redis is contacted here (tests/e2e/test_sentinel.py does)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from chatproject.env import origin_list, seconds
from redis_core import checks, get_manager, options, sentinel
from redis_core.manager import RedisManager


def test_parse__the_contract_form_with_password_and_db():
    target = sentinel.parse("redis+sentinel://:s3cr%40t@10.0.0.1:26379,10.0.0.2:26380/chat/2")
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26380))
    assert (target.service, target.db, target.password, target.username) == (
        "chat",
        2,
        "s3cr@t",
        None,
    )
    assert target.tls is False
    assert "s3cr" not in repr(target)


def test_parse__user_tls_and_default_db():
    target = sentinel.parse(
        "rediss+sentinel://app:pw@[::1]:26379/chat?ssl_ca_certs=/etc/ssl/ca.pem&ssl_cert_reqs=required"
    )
    assert target.sentinels == (("::1", 26379),) and target.db == 0
    assert (target.username, target.password, target.tls) == ("app", "pw", True)
    assert dict(target.tls_options) == {
        "ssl_ca_certs": "/etc/ssl/ca.pem",
        "ssl_cert_reqs": "required",
    }


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis+sentinel:///chat/0", "names no sentinel"),
        ("redis+sentinel://10.0.0.1/chat/0", "is not host:port"),
        ("redis+sentinel://10.0.0.1:0/chat/0", "is not host:port"),
        ("redis+sentinel://10.0.0.1:26379", "needs the Sentinel service name"),
        ("redis+sentinel://10.0.0.1:26379/chat/0/extra", "needs the Sentinel service name"),
        ("redis+sentinel://10.0.0.1:26379/ch%20at/0", "is not a Sentinel master name"),
        ("redis+sentinel://10.0.0.1:26379/chat/x", "is not a number from 0 to 15"),
        ("redis+sentinel://10.0.0.1:26379/chat/0?socket_timeout=1", "takes only"),
        ("redis+sentinel://10.0.0.1:26379/chat/0?ssl_ca_certs=/ca", "use rediss\\+sentinel"),
    ],
)
def test_parse__every_mistake_has_a_reason(url, reason):
    with pytest.raises(ValueError, match=reason):
        options.validate_url(url)


def test_check__a_bad_sentinel_url_is_e001(settings):
    settings.REDIS_URL = "redis+sentinel://10.0.0.1:26379"
    errors = checks.check_redis_settings()
    assert [e.id for e in errors] == ["redis_core.E001"]
    assert "service name" in errors[0].msg and "redis+sentinel://" in errors[0].hint


def test_loss_grace__defaults_by_kind_and_the_setting_wins():
    assert options.loss_grace("redis://127.0.0.1:6379/0") == 1.5
    assert options.loss_grace("redis+sentinel://127.0.0.1:26379/chat/0") == 10.0
    assert options.loss_grace("redis://127.0.0.1:6379/0", 4) == 4.0


def test_manager__built_from_the_settings_with_the_sentinel_password(settings):
    settings.REDIS_URL = "redis+sentinel://:primary@127.0.0.1:1/chat/3"
    settings.REDIS_SENTINEL_PASSWORD = "own"
    settings.REDIS_LOSS_GRACE = 7.5
    manager = get_manager()
    assert manager.target.service == "chat" and manager.target.db == 3
    assert manager.sentinel_password == "own" and manager.loss_grace == 7.5
    assert "primary" not in manager.safe_url and manager.safe_url.endswith("@127.0.0.1:1/chat/3")


def test_manager__a_plain_url_is_unchanged():
    manager = RedisManager("redis://127.0.0.1:6379/0")
    try:
        assert manager.target is None and manager.loss_grace == 1.5
        pool = manager.client().connection_pool
        assert type(pool).__name__ == "BlockingConnectionPool"
    finally:
        manager.close()


def test_seconds__validated():
    assert seconds({}, "REDIS_LOSS_GRACE", None) is None
    assert seconds({"REDIS_LOSS_GRACE": " 12.5 "}, "REDIS_LOSS_GRACE", None) == 12.5
    for bad in ("0", "-1", "abc", "601", "1e3"):
        with pytest.raises(ImproperlyConfigured, match="REDIS_LOSS_GRACE"):
            seconds({"REDIS_LOSS_GRACE": bad}, "REDIS_LOSS_GRACE", None)


def test_origin_list__validated():
    assert origin_list("") == []
    assert origin_list("https://chat.example.org, http://127.0.0.1:8080") == [
        "https://chat.example.org",
        "http://127.0.0.1:8080",
    ]
    for bad in ("chat.example.org", "https://chat.example.org/path", "ftp://x"):
        with pytest.raises(ImproperlyConfigured, match="CSRF_TRUSTED_ORIGINS"):
            origin_list(bad)
