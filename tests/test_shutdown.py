"""Graceful shutdown, in process: every member closed with 4001, presence cleaned, Redis
released. The SIGTERM hook itself runs under a real daphne in tests/e2e/test_sigterm.py.
"""

import asyncio
import sys

import pytest

from chat import draining as draining_state
from chat import metrics
from chat.realtime import presence, shutdown
from chat.realtime.hub import get_hub
from redis_core import get_manager
from tests.wsutil import Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _not_draining():
    yield
    draining_state._state["draining"] = False
    metrics.draining.set(0)


@pytest.fixture
def users(make_user):
    return {name: make_user(name) for name in ("alice", "bob")}


async def joined(room, user=None):
    client = Client(room, user=user)
    connected, _ = await client.connect()
    assert connected
    assert (await client.recv())["type"] == "hello"
    return client


async def client_sees_close(client):
    frame = await client.recv_type("__closed__")
    return frame["code"]


def answer_close(client, code=shutdown.CLOSE_GOING_AWAY):
    """What a browser does on a close frame: the server then gets websocket.disconnect."""
    client.comm.input_queue.put_nowait({"type": "websocket.disconnect", "code": code})


async def finish(client):
    try:
        await client.comm.wait(timeout=10)
    except Exception:  # the consumer may already be gone
        pass


def presence_entries(room):
    return get_manager().client().zrange(presence.room_key(room), 0, -1)


def test_install__does_nothing_outside_daphne(monkeypatch):
    monkeypatch.setitem(shutdown._state, "installed", False)
    monkeypatch.delitem(sys.modules, "daphne.server", raising=False)
    assert shutdown.install() is False
    assert shutdown._state["installed"] is False


async def test_close_members__every_member_gets_4001(users):
    alice = await joined("shutdown-a", users["alice"])
    anonymous = await joined("shutdown-b")
    assert await shutdown.close_members(get_hub()) == 2
    assert await client_sees_close(alice) == 4001
    assert await client_sees_close(anonymous) == 4001
    for client in (alice, anonymous):
        answer_close(client)
        await finish(client)


async def test_graceful_shutdown__presence_cleaned_and_redis_released(users):
    alice = await joined("shutdown-c", users["alice"])
    bob = await joined("shutdown-c", users["bob"])
    assert len(presence_entries("shutdown-c")) == 2
    draining = shutdown.graceful_shutdown(timeout=5)

    async def browser(client):
        assert await client_sees_close(client) == 4001
        answer_close(client)

    (closed, remaining), *_ = await asyncio.gather(draining, browser(alice), browser(bob))
    assert (closed, remaining) == (2, 0)
    assert draining_state.draining()
    assert presence_entries("shutdown-c") == []
    assert get_manager().pool_for_current_loop() is None
    for client in (alice, bob):
        await finish(client)


async def test_graceful_shutdown__a_client_that_never_answers(users):
    alice = await joined("shutdown-d", users["alice"])
    closed, remaining = await shutdown.graceful_shutdown(timeout=0.5)
    assert await client_sees_close(alice) == 4001
    assert (closed, remaining) == (1, 1)
    # Its consumer never ran its disconnect; the shutdown removed its presence itself.
    assert presence_entries("shutdown-d") == []
    answer_close(alice)
    await finish(alice)
