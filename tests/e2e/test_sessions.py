"""Sockets of a session that stops logging its user in are closed, on real daphne: a
password changed by an admin (another process), a session replaced by another log-in."""

import asyncio

import pytest

from tests.e2e.clients import Browser, connect

pytestmark = pytest.mark.e2e

USERS_SCRIPT = """
from django.contrib.auth import get_user_model
for name in ("alice", "bob"):
    get_user_model().objects.create_user(name, password=f"pw-{name}-123456")
"""

CHANGE_PASSWORD_SCRIPT = """
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username="alice")
user.set_password("Kx9!mqv-2-zzt-new")
user.save()
"""


async def still_open(client):
    await client.send({"type": "ping"})
    return (await client.recv_type("pong"))["type"] == "pong"


async def test_password_changed_by_an_admin__the_users_sockets_close_4001(stack):
    [daphne] = stack.start_daphne(1)
    stack.manage("shell", "-v", "0", "-c", USERS_SCRIPT)
    alice_browser, bob_browser = Browser(daphne), Browser(daphne)
    alice_cookie = await asyncio.to_thread(alice_browser.log_in, "alice", "pw-alice-123456")
    bob_cookie = await asyncio.to_thread(bob_browser.log_in, "bob", "pw-bob-123456")
    alice = await connect(daphne, "lobby", alice_cookie)
    bob = await connect(daphne, "lobby", bob_cookie)
    assert alice.hello["user"] == "alice" and bob.hello["user"] == "bob"
    await bob.send({"type": "message", "text": "before"})
    assert (await alice.recv_type("message"))["text"] == "before"  # receiving until then
    await asyncio.to_thread(stack.manage, "shell", "-v", "0", "-c", CHANGE_PASSWORD_SCRIPT)
    assert await alice.closed(timeout=10) == 4001
    assert await still_open(bob)
    again = await connect(daphne, "lobby", alice_cookie)
    assert again.hello["user"] is None  # the old session logs nobody in any more
    await again.send({"type": "message", "text": "as alice?"})
    assert (await again.recv_type("error"))["code"] == "auth_required"
    await again.close()
    await bob.close()


async def test_session_replaced_by_another_login__its_sockets_close_and_cannot_post(stack):
    [daphne] = stack.start_daphne(1)
    stack.manage("shell", "-v", "0", "-c", USERS_SCRIPT)
    browser = Browser(daphne)
    alice_cookie = await asyncio.to_thread(browser.log_in, "alice", "pw-alice-123456")
    alice = await connect(daphne, "lobby", alice_cookie)
    assert alice.hello["user"] == "alice"
    bob_cookie = await asyncio.to_thread(browser.log_in, "bob", "pw-bob-123456")
    assert bob_cookie != alice_cookie
    assert await alice.closed(timeout=10) == 4001
    old = await connect(daphne, "lobby", alice_cookie)
    assert old.hello["user"] is None
    await old.send({"type": "message", "text": "as alice?"})
    assert (await old.recv_type("error"))["code"] == "auth_required"
    now = await connect(daphne, "lobby", browser.cookie())
    assert now.hello["user"] == "bob"
    await old.close()
    await now.close()
