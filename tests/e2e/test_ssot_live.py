"""check_redis_ssot --live against two real daphne processes and one rogue connection."""

import json
import socket

import pytest

from tests.e2e.clients import connect

pytestmark = pytest.mark.e2e


@pytest.fixture
async def two_servers_with_sockets(stack):
    """Two daphne processes, each with an open socket (so each holds its async pool)."""
    daphnes = stack.start_daphne(2)
    clients = [await connect(d, "live-check") for d in daphnes]
    yield daphnes
    for client in clients:
        await client.close()


@pytest.fixture
def rogue(stack):
    """A raw connection to the chat's Redis that no manager named (a competing client)."""
    with socket.create_connection(("127.0.0.1", stack.redis.port), timeout=5) as raw:
        raw.sendall(b"PING\r\n")
        assert raw.recv(16).startswith(b"+PONG")
        yield "{}:{}".format(*raw.getsockname())


def check(stack, *args):
    return stack.manage("check_redis_ssot", "--live", *args, check=False, timeout=60)


def test_live__rogue_connection_is_flagged(stack, two_servers_with_sockets, rogue):
    result = check(stack)
    assert result.returncode != 0
    lines = result.stdout.strip().splitlines()
    assert lines and all(line.split()[0] in ("PASS", "FAIL") for line in lines)
    failed = [line for line in lines if line.startswith("FAIL")]
    assert failed and all(line.startswith("FAIL live") for line in failed)
    assert any(rogue in line and "no manager named" in line for line in failed)
    for daphne in two_servers_with_sockets:
        assert f"/{daphne.pid}: " in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_live__json_flags_the_rogue(stack, two_servers_with_sockets, rogue):
    result = check(stack, "--json")
    document = json.loads(result.stdout)
    assert result.returncode != 0 and document["ok"] is False
    failed = [c for c in document["checks"] if not c["ok"]]
    assert failed and all(c["name"].startswith("live") for c in failed)
    assert any(rogue in c["detail"] for c in failed)
    every_detail = " ".join(c["detail"] for c in document["checks"])
    for daphne in two_servers_with_sockets:
        assert f"/{daphne.pid}: " in every_detail


def test_live__passes_without_the_rogue(stack, two_servers_with_sockets):
    result = check(stack, "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout
    assert document["ok"] is True
    assert {c["name"] for c in document["checks"]} >= {"single_manager", "live_clients"}
