"""chat.realtime.presence and chat.online on the real Redis."""

import pytest
from asgiref.sync import sync_to_async

from chat import online
from chat.realtime import presence
from redis_core import get_manager


async def test_update__add_rem_and_the_change_flag():
    alice = presence.member("c1", "alice")
    guest = presence.member("c2", "")
    first = await presence.update("lobby", "add", [alice, guest])
    assert (first.changed, first.users, first.anonymous) == (True, ["alice"], 1)
    second_tab = await presence.update("lobby", "add", [presence.member("c3", "alice")])
    assert second_tab.changed is False  # the same people: nothing to announce
    gone = await presence.update("lobby", "rem", [guest])
    assert (gone.changed, gone.value) == (True, (("alice",), 0))


async def test_sweep__entries_of_a_dead_process_expire():
    await presence.update("lobby", "add", [presence.member("live", "alice")])
    # A process that died stopped renewing its entry: its score (expiry) is in the past.
    await get_manager().async_client().zadd(online.room_key("lobby"), {"dead\tbob": 1})
    swept = await presence.update("lobby", "sweep")
    assert swept.users == ["alice"]


@pytest.mark.django_db
async def test_online_counts__what_the_pages_show():
    await presence.update("a", "add", [presence.member("c1", "alice"), presence.member("c2", "")])
    counts = await sync_to_async(online.online_counts)(["a", "b"])
    assert counts == {"a": 2, "b": 0}
