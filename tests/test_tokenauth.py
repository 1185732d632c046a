"""API tokens on the WebSocket (chat.realtime.tokenauth), through the real application,
database and Redis: who a bearer socket is, and that revoking closes it at once."""

import pytest
from asgiref.sync import sync_to_async

from chat import signals, token_auth
from chat.models import ApiToken, ChatProfile, Room
from tests.test_signals import logged_in
from tests.wsutil import HOST, ORIGIN, Client, socket, still_open

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def receivers():
    signals.connect()


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def bearer_client(token, room="lobby", origin=None):
    """A socket that sends the token and, like a script, no Origin (unless given)."""
    client = Client(room, origin=origin)
    client.comm.scope["headers"].append((b"authorization", f"Bearer {token}".encode()))
    return client


async def bearer_socket(token, room="lobby"):
    client = bearer_client(token, room)
    assert (await client.connect())[0]
    client.hello = await client.recv_type("hello")
    return client


async def new_token(user, name="bot"):
    return (await sync_to_async(token_auth.create_token)(user, name))[1]


async def test_bearer__acts_as_the_tokens_user_without_an_origin(alice):
    client = await bearer_socket(await new_token(alice))
    assert client.hello["user"] == "alice"
    await client.send({"type": "message", "text": "hi", "client_id": "b-1"})
    assert (await client.recv_type("ack"))["seq"] == 1
    await client.close()


async def test_bearer__wins_over_a_cookie_of_another_user(alice, make_user):
    bob = await sync_to_async(make_user)("bob")
    _, bobs_session = await sync_to_async(logged_in)(bob)
    client = bearer_client(await new_token(alice), origin=ORIGIN)
    client.comm.scope["headers"].append((b"cookie", f"sessionid={bobs_session}".encode()))
    assert (await client.connect())[0]
    assert (await client.recv_type("hello"))["user"] == "alice"
    await client.close()


@pytest.mark.parametrize("token", ["", "chat_nonsense", "chat_0123456789ab_" + "a" * 43])
async def test_bearer__an_invalid_token_is_accepted_then_closed_4401(alice, token):
    client = bearer_client(token)
    assert (await client.connect())[0]
    assert await client.recv() == {"type": "__closed__", "code": 4401}


async def test_bearer__a_foreign_origin_is_still_refused_at_the_handshake(alice):
    client = bearer_client(await new_token(alice), origin=(b"origin", b"http://evil.example"))
    connected, _ = await client.connect()
    assert not connected  # the handshake is denied (daphne answers it with HTTP 403)


async def test_no_origin_without_a_token_is_still_refused(alice):
    client = Client("lobby", origin=None)
    connected, _ = await client.connect()
    assert not connected
    assert client.comm.scope["headers"] == [HOST]


async def test_revoke__closes_the_tokens_sockets_4401_and_only_those(alice):
    token = await new_token(alice)
    other_token = await new_token(alice, "other")
    lobby = await bearer_socket(token)
    elsewhere = await bearer_socket(token, "elsewhere")
    other = await bearer_socket(other_token)
    browser = await socket("lobby", user=alice)
    assert await sync_to_async(token_auth.revoke)(alice, "bot")
    assert (await lobby.recv_type("__closed__"))["code"] == 4401
    assert (await elsewhere.recv_type("__closed__"))["code"] == 4401
    assert await still_open(other) and await still_open(browser)
    again = bearer_client(token)
    assert (await again.connect())[0]
    assert await again.recv() == {"type": "__closed__", "code": 4401}
    await other.close()
    await browser.close()


async def test_revoke__between_the_check_and_the_join_still_closes(alice, monkeypatch):
    """The close a revocation publishes cannot reach a socket not yet in the hub: the
    socket checks its token again once it can hear closes."""
    from chat.realtime import tokenauth

    token = await new_token(alice)
    checked = token_auth.authenticate

    def then_revoked_quietly(text):
        found = checked(text)
        ApiToken.objects.filter(pk=found.pk)._raw_delete(ApiToken.objects.db)  # no signal
        return found

    monkeypatch.setattr(tokenauth.token_auth, "authenticate", then_revoked_quietly)
    client = bearer_client(token)
    assert (await client.connect())[0]
    assert await client.recv() == {"type": "__closed__", "code": 4401}


async def test_deactivating_the_user_closes_token_sockets_and_refuses_them(alice):
    token = await new_token(alice)
    client = await bearer_socket(token)
    alice.is_active = False
    await sync_to_async(alice.save)()
    assert (await client.recv_type("__closed__"))["code"] == 4401
    again = bearer_client(token)
    assert (await again.connect())[0]
    assert await again.recv() == {"type": "__closed__", "code": 4401}


async def test_bearer__private_room_non_member_4403(alice, make_user):
    carol = await sync_to_async(make_user)("carol")
    await sync_to_async(Room.objects.create)(name="club", is_private=True, owner=carol)
    client = bearer_client(await new_token(alice), room="club")
    assert (await client.connect())[0]
    assert (await client.recv())["code"] == 4403


async def test_rate_exempt_bot__not_limited_on_the_socket_either(settings, alice, make_user):
    settings.CHAT_MESSAGE_RATE = (2, 10)
    bot = await sync_to_async(make_user)("bot")
    await sync_to_async(ChatProfile.objects.create)(user=bot, rate_exempt=True)
    bot_socket = await bearer_socket(await new_token(bot))
    person = await socket("lobby", user=alice)
    for i in range(4):
        await bot_socket.send({"type": "message", "text": f"b{i}"})
        assert (await bot_socket.recv_type("ack"))["seq"] is not None
        await person.send({"type": "message", "text": f"p{i}"})
        frame = await person.recv_type("ack" if i < 2 else "error")
        assert frame["type"] == ("ack" if i < 2 else "error")
    await bot_socket.close()
    await person.close()
