"""Scratch: the proposed consumers.py patches, applied by monkeypatch."""
import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError
from redis.exceptions import RedisError
from asgiref.sync import sync_to_async

from chat import connlimit, consumers, protocol, services
from chat.consumers import ChatConsumer, CLOSE_BAD_ROOM, CLOSE_NOT_READY, CLOSE_REDIS_LOST, READY_TIMEOUT, CLOSE_TOO_BIG
from chat.models import Room
from redis_core import get_manager
from tests.wsutil import Client

_orig_enter = ChatConsumer._enter
_orig_handle = ChatConsumer.handle


async def connect(self):
    socket_protocol = self.scope.get(consumers.SCOPE_KEY)
    self.wire = consumers.Wire(socket_protocol) if socket_protocol is not None else None
    await self.accept()
    consumers.metrics.connections_opened.inc()
    consumers.metrics.connections_open.inc()
    name = self.scope["url_route"]["kwargs"].get("room", "")
    if not protocol.valid_room(name):
        return await self.close_with(CLOSE_BAD_ROOM)
    if not await get_manager().wait_ready(READY_TIMEOUT):
        return await self.close_with(CLOSE_NOT_READY)
    try:
        allowed, _ = await connlimit.allow_connection(self.user.pk, connlimit.client_ip(self.scope))
        if not allowed:
            return await self.close_with(CLOSE_NOT_READY)
        await self._enter(name)
    except (TimeoutError, RedisError, OSError) as exc:
        get_manager().health().report_failure(exc)
        await self.close_with(CLOSE_REDIS_LOST)
    except DatabaseError as exc:
        await self.close_with(CLOSE_NOT_READY)


async def handle(self, command):
    try:
        await _orig_handle(self, command)
    except ObjectDoesNotExist:
        await self.close_with(CLOSE_BAD_ROOM)


@pytest.fixture(autouse=True)
def _patch(monkeypatch):
    monkeypatch.setattr(ChatConsumer, "connect", connect)
    monkeypatch.setattr(ChatConsumer, "handle", handle)
    monkeypatch.setattr(consumers, "connlimit", connlimit, raising=False)


pytestmark = pytest.mark.django_db(transaction=True)


async def test_room_deleted_then_post__4404_not_1011(make_user):
    alice = await sync_to_async(make_user)("alice")
    c = Client("doomed", user=alice)
    await c.connect()
    await c.recv_type("hello")
    await sync_to_async(Room.objects.filter(name="doomed").delete)()
    await c.send({"type": "message", "text": "x"})
    assert (await c.recv_type("__closed__"))["code"] == 4404


@pytest.mark.django_db(transaction=True)
async def test_consumer__over_the_limit_accepted_then_closed_4013(settings, make_user):
    settings.CHAT_CONNECT_RATE_USER = (2, 60)
    alice = await sync_to_async(make_user)("alice")
    opened = []
    for _ in range(2):
        client = Client(user=alice)
        assert (await client.connect())[0]
        assert (await client.recv())["type"] == "hello"
        opened.append(client)
    refused = Client(user=alice)
    assert (await refused.connect())[0]
    assert await refused.recv() == {"type": "__closed__", "code": 4013}
    other = Client()  # anonymous, no address in a test scope: not limited
    assert (await other.connect())[0]
    assert (await other.recv())["type"] == "hello"
    for client in [*opened, other]:
        await client.close()
