"""chat.realtime.origin: the handshake's Origin against ALLOWED_HOSTS and the Host header."""

import pytest

from chat.realtime.origin import origin_allowed
from tests.wsutil import Client

HOSTS = ["127.0.0.1", "localhost", "chat.example.com"]


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://localhost:8000", "localhost:8000", True),
        ("https://chat.example.com", "chat.example.com", True),
        ("https://chat.example.com:443", "chat.example.com", True),
        ("http://chat.example.com", "chat.example.com:80", True),
        ("HTTP://Chat.Example.com", "chat.example.com", True),
        # another port of the same host: another application, refused
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),
        ("http://127.0.0.1", "127.0.0.1:8000", False),
        ("https://chat.example.com:8443", "chat.example.com", False),
        # a host that is not ours, or a look-alike
        ("http://evil.example", "evil.example", False),
        ("http://chat.example.com.evil.example", "chat.example.com", False),
        # not an origin at all
        ("null", "127.0.0.1:8000", False),
        ("ws://127.0.0.1:8000", "127.0.0.1:8000", False),
        ("file://127.0.0.1", "127.0.0.1", False),
        ("http://127.0.0.1:8000/path", "127.0.0.1:8000", False),
        ("http://user@127.0.0.1:8000", "127.0.0.1:8000", False),
        ("http://[::1", "127.0.0.1", False),
        ("", "127.0.0.1:8000", False),
        (None, "127.0.0.1:8000", False),
        ("http://127.0.0.1:8000", None, False),
    ],
)
def test_origin_allowed__scheme_host_and_port(origin, host, allowed):
    assert origin_allowed(origin, host, allowed_hosts=HOSTS) is allowed


def test_origin_allowed__https_deployment_refuses_http_pages():
    assert origin_allowed(
        "https://chat.example.com", "chat.example.com", allowed_hosts=HOSTS, https=True
    )
    assert not origin_allowed(
        "http://chat.example.com", "chat.example.com", allowed_hosts=HOSTS, https=True
    )


def test_origin_allowed__trusted_origins_listed_by_the_operator():
    trusted = ["https://app.example.com"]
    assert origin_allowed(
        "https://app.example.com", "chat.example.com", allowed_hosts=HOSTS, trusted_origins=trusted
    )


@pytest.mark.django_db(transaction=True)
async def test_handshake__page_on_another_port_refused():
    client = Client(origin=(b"origin", b"http://127.0.0.1:9999"))
    connected, _ = await client.connect()
    assert not connected
    same = Client()
    connected, _ = await same.connect()
    assert connected
    await same.close()
