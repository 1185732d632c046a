"""/healthz, /readyz and /metrics against the session's real Redis and database."""

import pytest
from django.test import Client as HttpClient
from prometheus_client.parser import text_string_to_metric_families

from chat import draining as draining_state
from chat import health_views
from redis_core import get_manager
from tests.wsutil import Client

pytestmark = pytest.mark.django_db(transaction=True)

STRANGER = "203.0.113.9"


def client_from(address):
    """A (sync) test client whose requests come from address (REMOTE_ADDR)."""
    return HttpClient(REMOTE_ADDR=address)


@pytest.fixture(autouse=True)
def _fresh_readiness(monkeypatch):
    """/metrics reuses a readiness result for a few seconds: each test starts without one,
    so it sees its own Redis and draining state."""
    monkeypatch.setitem(health_views._last_check, "at", None)


def samples(text):
    """{(name, frozenset(labels)): value} of a Prometheus exposition (parsing it checks it)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


async def scrape(async_client):
    response = await async_client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return samples(response.content.decode())


async def test_healthz(async_client):
    response = await async_client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz__ready(async_client):
    response = await async_client.get("/readyz")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert set(body["checks"]) == {"redis", "database"}
    for check in body["checks"].values():
        assert check["ok"] is True and isinstance(check["ms"], float)


async def test_readyz__redis_stopped(async_client, redis_server):
    redis_server.stop()
    response = await async_client.get("/readyz")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ms"] < 3000  # bounded, even with retries


@pytest.fixture
def draining():
    draining_state._state["draining"] = True
    yield
    draining_state._state["draining"] = False


async def test_readyz__draining_process_is_not_ready(async_client, draining):
    response = await async_client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["draining"] is True
    assert (await scrape(async_client))[("chat_draining", frozenset())] == 1


async def test_metrics__contract_names_and_readiness(async_client):
    found = await scrape(async_client)
    names = {name for name, _ in found}
    assert {"chat_connections_open", "chat_messages_stored_total"} <= names
    assert found[("chat_ready", frozenset())] == 1
    assert found[("chat_ready_check", frozenset({("check", "redis")}))] == 1
    assert found[("chat_ready_check", frozenset({("check", "database")}))] == 1
    ping = frozenset({("command", "ping")})
    assert found[("chat_redis_command_seconds_count", ping)] >= 1


async def test_metrics__readiness_gauge_follows_redis(async_client, redis_server):
    redis_server.stop()
    found = await scrape(async_client)
    assert found[("chat_ready", frozenset())] == 0
    assert found[("chat_ready_check", frozenset({("check", "redis")}))] == 0
    assert found[("chat_redis_errors_total", frozenset({("where", "ping")}))] >= 1


async def test_metrics__async_pool_of_this_loop(async_client):
    await get_manager().async_client().ping()
    found = await scrape(async_client)
    pools = {
        dict(labels)["loop"]: value
        for (name, labels), value in found.items()
        if name == "chat_redis_pool_connections" and dict(labels)["role"] == "async"
    }
    assert pools and max(pools.values()) >= 1
    maximum = [v for (n, labels), v in found.items() if n == "chat_redis_pool_max_connections"]
    assert maximum and min(maximum) > 0


async def test_metrics__sync_pool_connections(async_client):
    from asgiref.sync import sync_to_async

    await sync_to_async(get_manager().client().ping)()
    found = await scrape(async_client)
    sync = frozenset({("role", "sync"), ("loop", "")})
    assert found[("chat_redis_pool_connections", sync)] >= 1


async def test_metrics__closes_counted_by_code_and_side(async_client):
    key = ("chat_ws_closes_total", frozenset({("code", "4404"), ("by", "server")}))
    before = (await scrape(async_client)).get(key, 0)
    client = Client(room="Not-A-Room")
    connected, _ = await client.connect()
    assert connected
    assert (await client.recv())["code"] == 4404
    await client.close()
    assert (await scrape(async_client))[key] == before + 1


PING = ("chat_redis_command_seconds_count", frozenset({("command", "ping")}))


def test_metrics__a_stranger_gets_403():
    response = client_from(STRANGER).get("/metrics")
    assert response.status_code == 403
    assert b"CHAT_METRICS_ALLOW" in response.content
    assert b"chat_connections_open" not in response.content


def test_metrics__the_bearer_token_opens_it_from_anywhere(settings):
    settings.CHAT_METRICS_TOKEN = "s3cret-scrape-token"
    good = {"Authorization": "Bearer s3cret-scrape-token"}
    response = client_from(STRANGER).get("/metrics", headers=good)
    assert response.status_code == 200 and b"chat_connections_open" in response.content
    bad = {"Authorization": "Bearer s3cret-scrape-tokeN"}
    assert client_from(STRANGER).get("/metrics", headers=bad).status_code == 403


def test_metrics__allowed_networks_from_the_setting(settings):
    settings.CHAT_METRICS_ALLOW = ("10.0.0.0/8", "2001:db8::/32")
    assert client_from("10.2.3.4").get("/metrics").status_code == 200
    assert client_from("2001:db8::7").get("/metrics").status_code == 200
    assert client_from("127.0.0.1").get("/metrics").status_code == 403


async def test_metrics__scrapes_reuse_the_readiness_result_instead_of_probing(async_client):
    first = await scrape(async_client)
    for _ in range(10):
        found = await scrape(async_client)
    assert found[PING] == first[PING]  # ten scrapes, no PING
    assert found[("chat_ready", frozenset())] == 1


async def test_metrics__a_stale_readiness_result_is_checked_again(async_client, monkeypatch):
    monkeypatch.setattr(health_views, "READINESS_MAX_AGE", 0.0)
    first = await scrape(async_client)
    assert (await scrape(async_client))[PING] == first[PING] + 1
