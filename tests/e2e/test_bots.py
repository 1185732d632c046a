"""Bots and server code on real daphne, Redis and database: messages from the Python API,
HTTP with a token and the command line reach sockets in seq order beside typed ones;
tokens are refused when revoked or not a member's; the example bot survives a restart."""

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie

import pytest
import websockets

from tests.e2e.clients import WsClient, connect
from tests.e2e.servers import ROOT

pytestmark = pytest.mark.e2e

BOT = ROOT / "docs" / "examples" / "bot.py"
PRIVATE_ROOM_SCRIPT = """
from django.contrib.auth import get_user_model
from chat.models import Membership, Room
users = get_user_model().objects
room = Room.objects.create(name="club", is_private=True, owner=users.get(username="alice"))
Membership.objects.create(room=room, user=users.get(username="bot"))
"""


def request(daphne, method, path, body=None, headers=None):
    """(status, headers, JSON body or None) of one HTTP request; errors returned, not raised."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(daphne.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            status, head, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, head, raw = exc.code, exc.headers, exc.read()
    return status, head, json.loads(raw) if raw else None


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def create_token(daphne, sessionid, name):
    """A token made the way a user makes one: POST /api/tokens with the session and CSRF."""
    with urllib.request.urlopen(
        urllib.request.Request(daphne.url + "/", headers={"Cookie": f"sessionid={sessionid}"}),
        timeout=10,
    ) as page:
        cookies = SimpleCookie(", ".join(page.headers.get_all("Set-Cookie")))
    csrf = cookies["csrftoken"].value
    headers = {"Cookie": f"sessionid={sessionid}; csrftoken={csrf}", "X-CSRFToken": csrf}
    status, _, body = request(daphne, "POST", "/api/tokens", {"name": name}, headers)
    assert status == 201, body
    return body["token"], headers


def post_http(daphne, token, room, text, client_id=None):
    body = {"text": text, "client_id": client_id}
    return request(daphne, "POST", f"/api/rooms/{room}/messages", body, bearer(token))


def python_api(stack, room, user, text):
    script = f"from chat import api; print(api.post_message({room!r}, {user!r}, {text!r}).message['seq'])"
    return int(stack.manage("shell", "-v", "0", "-c", script).stdout.strip().splitlines()[-1])


async def token_socket(daphne, token, room):
    """A socket as a script opens it: the token, no cookie, no Origin."""
    ws = await websockets.connect(
        daphne.ws_url(room), additional_headers=bearer(token), open_timeout=10, close_timeout=5
    )
    client = WsClient(ws)
    client.hello = await client.recv()
    return client


async def messages(client, count, timeout=15.0):
    got = []
    while len(got) < count:
        frame = await client.recv_type("message", timeout)
        assert frame["type"] == "message", frame
        got.append(frame)
    return got


async def test_every_path_reaches_sockets_in_seq_order_with_typed_messages(stack):
    a, b = stack.start_daphne(2)
    cookies = stack.sessions(["alice", "bot"])
    token, _ = create_token(a, cookies["bot"], "poster")
    watcher = await connect(b, "lobby", cookies["alice"])
    typer = await connect(a, "lobby", cookies["alice"])
    try:
        await typer.send({"type": "message", "text": "typed"})
        assert (await typer.recv_type("ack"))["seq"] == 1
        status, _, body = await asyncio.to_thread(post_http, a, token, "lobby", "over http")
        assert status == 201 and body["seq"] == 2 and body["user"] == "bot"
        cli = await asyncio.to_thread(
            stack.manage, "chat_post", "lobby", "--user", "bot", "from the command line"
        )
        assert cli.stdout.strip() == "posted seq 3 in lobby"
        assert await asyncio.to_thread(python_api, stack, "lobby", "bot", "from python") == 4
        got = await messages(watcher, 4)
        assert [(m["seq"], m["user"], m["text"]) for m in got] == [
            (1, "alice", "typed"), (2, "bot", "over http"),
            (3, "bot", "from the command line"), (4, "bot", "from python"),
        ]  # fmt: skip

        # At once, from both processes and every path: one gap-free seq order for everyone.
        def burst(i):
            post_http(a if i % 2 else b, token, "lobby", f"http {i}")

        with ThreadPoolExecutor(4) as pool:
            sent = pool.map(burst, range(12))
            for i in range(8):
                await typer.send({"type": "message", "text": f"typed {i}"})
            list(sent)
        seqs = [m["seq"] for m in await messages(watcher, 20)]
        assert seqs == list(range(5, 25))
    finally:
        await watcher.close()
        await typer.close()


async def test_repeated_client_id_over_http_returns_the_first_message(stack):
    [a] = stack.start_daphne(1)
    cookies = stack.sessions(["alice", "bot"])
    token, _ = create_token(a, cookies["bot"], "poster")
    watcher = await connect(a, "lobby", cookies["alice"])
    try:
        first = post_http(a, token, "lobby", "deployed v7", "deploy-7")
        again = post_http(a, token, "lobby", "deployed v7 (retry)", "deploy-7")
        assert (first[0], again[0]) == (201, 200) and again[2] == first[2]
        assert (await watcher.recv_type("message"))["seq"] == 1
        await watcher.send({"type": "ping"})
        assert (await watcher.recv_type("pong"))["type"] == "pong"  # and no second message
        status, _, page = request(a, "GET", "/api/rooms/lobby/messages", headers=bearer(token))
        assert status == 200 and [m["text"] for m in page["messages"]] == ["deployed v7"]
    finally:
        await watcher.close()


async def test_revoked_token_refused_next_request_and_its_socket_closed_on_another_process(
    stack,
):
    a, b = stack.start_daphne(2)
    cookies = stack.sessions(["bot"])
    token, session_headers = create_token(a, cookies["bot"], "doomed")
    socket = await token_socket(b, token, "lobby")
    assert socket.hello["user"] == "bot"
    assert post_http(a, token, "lobby", "still here")[0] == 201
    status, _, _ = request(a, "DELETE", "/api/tokens/doomed", headers=session_headers)
    assert status == 204
    assert await socket.closed(10) == 4401  # on the other process, at once
    status, _, body = post_http(b, token, "lobby", "gone?")
    assert status == 401 and body["error"] == "auth_required"
    again = await token_socket(b, token, "lobby")
    assert again.hello == {"type": "__closed__", "code": 4401}


async def test_non_members_token_refused_on_a_private_room_through_every_path(stack):
    [a] = stack.start_daphne(1)
    cookies = stack.sessions(["alice", "bot", "mallory"])
    stack.manage("shell", "-c", PRIVATE_ROOM_SCRIPT)
    token, _ = create_token(a, cookies["mallory"], "snoop")
    member_token, _ = create_token(a, cookies["bot"], "member")
    status, _, body = post_http(a, token, "club", "let me in")
    assert status == 403 and body["error"] == "forbidden"
    assert request(a, "GET", "/api/rooms/club/messages", headers=bearer(token))[0] == 403
    assert (await token_socket(a, token, "club")).hello == {"type": "__closed__", "code": 4403}
    cli = stack.manage("chat_post", "club", "--user", "mallory", "let me in", check=False)
    assert cli.returncode == 1 and "forbidden: mallory is not a member" in cli.stderr
    shell = stack.manage(
        "shell", "-c", "from chat import api; api.post_message('club', 'mallory', 'x')", check=False
    )
    assert shell.returncode != 0 and "Forbidden" in shell.stderr
    # the member's token gets in, through the same paths
    assert post_http(a, member_token, "club", "hi")[0] == 201
    member = await token_socket(a, member_token, "club")
    try:
        assert member.hello["user"] == "bot" and [m["text"] for m in member.hello["history"]] == [
            "hi"
        ]
    finally:
        await member.close()


async def test_bad_requests_each_get_their_code(stack):
    [a] = stack.start_daphne(1)
    cookies = stack.sessions(["bot"])
    token, _ = create_token(a, cookies["bot"], "poster")
    path = "/api/rooms/lobby/messages"
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    cases = [
        (b"{not json", bearer(token), 400, "bad_json"),
        ({"text": 42}, bearer(token), 400, "bad_field"),
        ({"text": "hi", "client_id": "no spaces"}, bearer(token), 400, "bad_field"),
        ({"text": " \n "}, bearer(token), 400, "empty"),
        ({"text": "x" * 4001}, bearer(token), 400, "too_long"),
        ({"text": "hi"}, {}, 401, "auth_required"),
        ({"text": "hi"}, bearer(wrong), 401, "auth_required"),
        ({"text": "hi"}, {"Authorization": "Basic Ym90OnB3"}, 401, "auth_required"),
    ]
    for body, headers, status, code in cases:
        got_status, _, got = request(a, "POST", path, body, headers)
        assert (got_status, got["error"]) == (status, code), (body, headers, got)
    status, _, body = request(a, "POST", "/api/rooms/Not A Room/messages".replace(" ", "%20"),
                              {"text": "hi"}, bearer(token))  # fmt: skip
    assert (status, body["error"]) == (404, "not_found")
    assert request(a, "GET", path, headers=bearer(wrong))[0] == 401
    # a bad token over the socket: accepted, then closed with 4401 before any hello
    assert (await token_socket(a, wrong, "lobby")).hello == {"type": "__closed__", "code": 4401}


async def test_rate_limit_over_http_429_with_retry_after(stack):
    [a] = stack.start_daphne(1, CHAT_MESSAGE_RATE="2/30")
    cookies = stack.sessions(["bot"])
    token, _ = create_token(a, cookies["bot"], "poster")
    assert [post_http(a, token, "lobby", f"m{i}")[0] for i in range(2)] == [201, 201]
    status, headers, body = post_http(a, token, "lobby", "one too many")
    assert status == 429 and body["error"] == "rate_limited"
    assert 1 <= int(headers["Retry-After"]) <= 30 and 0 < body["retry_after"] <= 30


# the example bot -----------------------------------------------------------------------


def wait_for_line(path, needle, timeout=20.0):
    """True once needle shows in the file at path (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text():
            return True
        time.sleep(0.05)
    return False


async def pong_after(client, seq, timeout=20.0):
    """The bot's pong for the ping with seq: in the client's hello, or live."""
    for message in client.hello["history"]:
        if message["user"] == "bot" and message["client_id"] == f"pong-{seq}":
            return message
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await client.recv_type("message", max(deadline - loop.time(), 0.001))
        assert frame["type"] == "message", f"no pong for seq {seq}: {frame}"
        if frame["user"] == "bot" and frame["client_id"] == f"pong-{seq}":
            return frame


async def test_example_bot_answers_ping_and_resumes_after_a_server_restart(stack, tmp_path):
    [a] = stack.start_daphne(1)
    cookies = stack.sessions(["alice", "bot"])
    token, _ = create_token(a, cookies["bot"], "bot")
    output = tmp_path / "bot.log"
    with open(output, "wb") as log:
        bot = subprocess.Popen(
            [sys.executable, str(BOT), f"ws://127.0.0.1:{a.port}", "lobby"],
            env={"CHAT_TOKEN": token, "PATH": "/usr/bin:/bin"}, stdout=log, stderr=log,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        assert wait_for_line(output, "connected as bot"), output.read_text()
        alice = await connect(a, "lobby", cookies["alice"])
        await alice.send({"type": "message", "text": "@bot ping"})
        ping = (await alice.recv_type("ack"))["seq"]
        assert (await pong_after(alice, ping))["text"] == "pong"
        await alice.close()
        # The server goes away (SIGTERM by PID); a ping is stored while it is down.
        a.stop()
        missed = stack.manage("chat_post", "lobby", "--user", "alice", "hey @bot ping")
        missed_seq = int(missed.stdout.split()[2])
        a.restart()  # same port: the bot comes back by itself, with ?since=
        alice = await connect(a, "lobby", cookies["alice"])
        await alice.send({"type": "message", "text": "@BOT ping again"})
        live = (await alice.recv_type("ack"))["seq"]
        answered = [await pong_after(alice, seq) for seq in (missed_seq, live)]
        assert [m["text"] for m in answered] == ["pong", "pong"]
        await alice.close()
        status, _, page = request(a, "GET", "/api/rooms/lobby/messages", headers=bearer(token))
        pongs = [m["client_id"] for m in page["messages"] if m["user"] == "bot"]
        assert pongs == [f"pong-{ping}", f"pong-{missed_seq}", f"pong-{live}"]  # each once
        assert output.read_text().count("connected as bot") >= 2
    finally:
        bot.terminate()
        try:
            bot.wait(10)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait(10)
