"""GET /api/search over real daphne on the deployment's databases (SQLite and PostgreSQL):
migration 0005_search indexes what is stored and is reversible; posts over the API, edits
and deletions keep the index current; privacy holds for anonymous, session and token
requests; hostile queries are never a 500. tests/test_search.py has the rest, in-process."""

import json
import urllib.parse

import pytest

pytestmark = pytest.mark.e2e

# Run by `manage.py shell`: alice's private room "vault" with bob, and the messages named
# in TEXTS (lobby: public), stored through chat.services; prints alice's API token.
_SEED = """
import json
from chat import membership, services, store, token_auth
from django.contrib.auth import get_user_model
User = get_user_model()
alice, bob, carol = (User.objects.get(username=n) for n in ("alice", "bob", "carol"))
vault = membership.create_private_room(alice, "vault")
membership.add_member(vault, alice, "bob")
lobby = services.get_or_create_room("lobby")
for room, text in TEXTS:
    target = vault if room == "vault" else lobby
    services.post_messages(target.pk, [store.Post(alice.pk, "alice", text, None)])
print(json.dumps({"alice": token_auth.create_token(alice, "e2e")[1],
                  "carol": token_auth.create_token(carol, "e2e")[1]}))
"""

# Edits lobby's message 1 and deletes message 2 (as alice).
_CHANGE = """
from chat import services, store
from django.contrib.auth import get_user_model
alice = get_user_model().objects.get(username="alice")
lobby = services.get_or_create_room("lobby")
services.post_messages(lobby.pk, [
    store.Change("edit", alice.pk, "alice", 1, text="Rollout moved to FRIDAY"),
    store.Change("delete", alice.pk, "alice", 2),
])
"""

TEXTS = [
    ("lobby", "Rollout planned for Thursday"),
    ("lobby", "thursday standup notes"),
    ("vault", "Secret rollout thursday keys"),
]


def search(server, headers=None, **params):
    status, body = server.get("/api/search?" + urllib.parse.urlencode(params), headers=headers)
    return status, json.loads(body) if body else None


def texts(server, headers=None, **params):
    status, body = search(server, headers, **params)
    assert status == 200, body
    return [m["text"] for m in body["results"]]


def test_search_on_the_database__indexed_current_and_private(db_stack):
    cookies = db_stack.sessions(["alice", "bob", "carol"])
    # Stored before the index exists: the migration indexes them (and undoes cleanly).
    db_stack.manage("migrate", "chat", "0004_read_positions", "--noinput")
    script = _SEED.replace("TEXTS", repr(TEXTS))
    tokens = json.loads(db_stack.manage("shell", "-v", "0", "-c", script).stdout.splitlines()[-1])
    db_stack.manage("migrate", "--noinput")
    [a] = db_stack.start_daphne(1)
    as_bob = {"Cookie": f"sessionid={cookies['bob']}"}
    as_carol = {"Authorization": f"Bearer {tokens['carol']}"}

    assert texts(a, q="ROLLOUT thursday") == ["Rollout planned for Thursday"]
    assert texts(a, as_bob, q="rollout thursday") == [
        "Secret rollout thursday keys", "Rollout planned for Thursday",
    ]  # fmt: skip
    assert texts(a, as_carol, q="secret") == []
    for headers, status in ((None, 401), (as_carol, 403)):
        assert search(a, headers, q="secret", room="vault")[0] == status
    assert texts(a, as_bob, q="secret", room="vault") == ["Secret rollout thursday keys"]

    # A post over the API, an edit and a deletion: the index follows each at once.
    for text in ("Thursday retro at noon", "thursday lunch"):
        assert _post(a, tokens["alice"], "lobby", text)[0] == 201
    db_stack.manage("shell", "-v", "0", "-c", _CHANGE)
    assert texts(a, q="thursday") == ["thursday lunch", "Thursday retro at noon"]
    assert texts(a, q="friday rollout") == ["Rollout moved to FRIDAY"]
    assert texts(a, q="standup") == []

    # Paging within a room, then hostile input: 200 or 400, never 500.
    status, page = search(a, q="thursday", room="lobby", limit="1")
    assert status == 200 and not page["complete"]
    assert [m["text"] for m in page["results"]] == ["thursday lunch"]
    status, page = search(a, q="thursday", room="lobby", before=str(page["results"][0]["seq"]))
    assert [m["text"] for m in page["results"]] == ["Thursday retro at noon"] and page["complete"]
    for q in ['"', "NEAR(", "*", "a OR", "Ünïcödé 🎉", "x" * 201, "\x00", "'; --", "   "]:
        status, _ = search(a, q=q)
        assert status in (200, 400), q


def _post(server, token, room, text):
    import urllib.request

    request = urllib.request.Request(
        f"{server.url}/api/rooms/{room}/messages", method="POST",
        data=json.dumps({"text": text}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())
