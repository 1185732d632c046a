"""A Sentinel-guarded Redis through the one manager: real primary, replica and 3 sentinels.

The manager finds the primary through the sentinels and follows a failover (sync and async
pools); `manage.py check` and /readyz say clearly what is wrong with a bad Sentinel
configuration; `check_redis_ssot --live` reads the current primary's CLIENT LIST.
"""

import asyncio
import json
import socket
import time

import pytest

from redis_core.manager import RedisManager
from tests.e2e.clients import connect
from tests.e2e.topology import PRIMARY_PASSWORD, SENTINEL_PASSWORD, sentinel_env

pytestmark = pytest.mark.e2e


async def test_manager_follows_a_failover__sync_and_async(cluster):
    manager = RedisManager(cluster.url, sentinel_password=SENTINEL_PASSWORD)
    try:
        assert manager.loss_grace == 10.0  # the default with a Sentinel URL
        sync = manager.client()
        sync.set("before", "1")
        client = manager.async_client()
        assert await client.get("before") == b"1"
        health = manager.health()
        assert await health.wait_ready(5)
        old = cluster.kill_primary()
        loop = asyncio.get_running_loop()
        new = await loop.run_in_executor(None, cluster.wait_promoted, old)
        deadline = time.monotonic() + 10
        while True:  # the first commands after the kill may still fail: bounded retries
            try:
                await client.set("after", "2")
                break
            except Exception:
                assert time.monotonic() < deadline, "the async pool never reached the new primary"
                await asyncio.sleep(0.1)
        assert await loop.run_in_executor(None, sync.get, "after") == b"2"
        assert sync.connection_pool.master_address == ("127.0.0.1", new)
        await asyncio.sleep(1.5)  # the monitor's next probe sees the new primary's run_id
        assert health.ready and health.primary_changes == 1 and health.grace_entries == 1
        assert 0 < health.last_recovery_seconds < manager.loss_grace
    finally:
        manager.close()


def test_check__good_sentinel_configuration_passes(stack, cluster):
    result = stack.manage("check", check=False, **sentinel_env(cluster))
    assert result.returncode == 0, result.stderr
    assert "redis_core.E006" not in result.stderr


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("address", "does not answer"),
        ("service", "knows no service named 'nosuch'"),
        ("sentinel_password", "refused the password"),
        ("primary_password", "refused REDIS_URL's credentials"),
    ],
)
def test_check__bad_sentinel_configuration_is_a_clear_error(stack, cluster, change, expected):
    env = sentinel_env(cluster, **_broken(cluster, change))
    result = stack.manage("check", check=False, **env)
    assert result.returncode != 0
    assert "redis_core.E006" in result.stderr and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert PRIMARY_PASSWORD not in result.stderr and SENTINEL_PASSWORD not in result.stderr


def _broken(cluster, change):
    if change == "address":
        with socket.socket() as s:  # a loopback port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return {"REDIS_URL": f"redis+sentinel://:{PRIMARY_PASSWORD}@127.0.0.1:{port}/chat/0"}
    if change == "service":
        return {"REDIS_URL": cluster.url.replace("/chat/0", "/nosuch/0")}
    if change == "sentinel_password":
        return {"REDIS_SENTINEL_PASSWORD": "wrong"}
    return {"REDIS_URL": cluster.url.replace(PRIMARY_PASSWORD, "wrong")}


@pytest.mark.parametrize("change", ["address", "service", "sentinel_password"])
async def test_readiness__bad_sentinel_configuration_fails_clearly_without_traceback(
    stack, cluster, change
):
    server = stack.start_daphne(1, **sentinel_env(cluster, **_broken(cluster, change)))[0]
    status, body = server.get_json("/readyz")
    assert status == 503 and body["checks"]["redis"]["ok"] is False
    error = body["checks"]["redis"]["error"]
    assert error.startswith("MasterNotFoundError: no sentinel of REDIS_URL named a primary")
    assert "manage.py check" in error and "<redis" not in error
    client = await connect(server, "lobby")
    assert client.hello["type"] == "__closed__" and client.hello["code"] in (4012, 4013)
    server.stop()
    assert "Traceback" not in server.log_text()


async def test_live__primary_client_list_pass_then_rogue_fails(stack, cluster):
    daphnes = stack.start_daphne(2, **sentinel_env(cluster))
    clients = [await connect(d, "live-sentinel") for d in daphnes]
    try:
        result = stack.manage(
            "check_redis_ssot", "--live", check=False, timeout=60, **sentinel_env(cluster)
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"of primary 127.0.0.1:{cluster.primary_port()}" in result.stdout
        assert "replication/Sentinel link(s) ignored" in result.stdout
        for daphne in daphnes:
            assert f"/{daphne.pid}: " in result.stdout
        rogue = cluster.primary_client()
        rogue.ping()
        try:
            result = stack.manage(
                "check_redis_ssot", "--live", "--json", check=False, timeout=60,
                **sentinel_env(cluster),
            )  # fmt: skip
        finally:
            rogue.close()
        document = json.loads(result.stdout)
        assert result.returncode != 0 and document["ok"] is False
        failed = [c for c in document["checks"] if not c["ok"]]
        assert [c["name"] for c in failed] == ["live_clients", "live_unnamed"]
    finally:
        for client in clients:
            await client.close()
