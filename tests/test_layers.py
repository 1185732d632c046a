import asyncio

import pytest
from channels.layers import get_channel_layer

import redis_core
from redis_core.layers import SharedRedisChannelLayer


@pytest.fixture
def layer():
    return SharedRedisChannelLayer(capacity=10, expiry=1, group_expiry=2)


def test_configured_layer__is_the_shared_one():
    assert isinstance(get_channel_layer(), SharedRedisChannelLayer)


def test_hosts__are_refused_because_the_address_is_redis_url():
    with pytest.raises(ValueError, match="REDIS_URL"):
        SharedRedisChannelLayer(hosts=["redis://127.0.0.1:6379"])


async def test_connection__is_the_managers_and_no_pool_is_created(layer):
    assert layer.connection(0) is redis_core.get_manager().async_client()
    with pytest.raises(RuntimeError):
        layer.create_pool(0)
    await layer.close_pools()  # does not close the manager's pool
    assert await redis_core.get_manager().async_client().ping()


async def test_send_receive(layer):
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "test.message", "text": "hi"})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["text"] == "hi"


async def test_general_channel_send_receive(layer):
    await layer.send("general.test", {"type": "test.message", "n": 1})
    assert (await asyncio.wait_for(layer.receive("general.test"), 5))["n"] == 1


async def test_groups__send_reaches_members_and_discard_removes(layer):
    one, two = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", one)
    await layer.group_add("room", two)
    await layer.group_discard("room", two)
    await layer.group_send("room", {"type": "test.message", "n": 7})
    assert (await asyncio.wait_for(layer.receive(one), 5))["n"] == 7
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(two), 0.5)


async def test_message_expiry(layer):
    await layer.send("expiry.test", {"type": "test.message"})
    await asyncio.sleep(1.5)
    await layer.send("expiry.test", {"type": "test.message", "second": True})
    assert (await asyncio.wait_for(layer.receive("expiry.test"), 5)).get("second") is True


async def test_capacity__full_channel_raises(layer):
    from channels.exceptions import ChannelFull

    for _ in range(10):
        await layer.send("capacity.test", {"type": "test.message"})
    with pytest.raises(ChannelFull):
        await layer.send("capacity.test", {"type": "test.message"})


async def test_two_layers_share_one_redis(layer):
    other = SharedRedisChannelLayer(capacity=10)
    channel = await other.new_channel()
    await layer.send(channel, {"type": "test.message", "from": "first"})
    assert (await asyncio.wait_for(other.receive(channel), 5))["from"] == "first"
    assert other.connection(0) is layer.connection(0)


async def test_flush__removes_messages_but_keeps_the_pool(layer):
    await layer.send("flush.test", {"type": "test.message"})
    await layer.flush()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive("flush.test"), 0.5)
    assert await layer.connection(0).ping()
