"""manage.py chat_post: post from a script; a clear message and a non-zero exit on refusal."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from chat.models import Message, Room

pytestmark = pytest.mark.django_db


class Stdin(io.StringIO):
    def isatty(self):
        return False


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(*args, stdin=None):
    out = io.StringIO()
    call_command("chat_post", *args, stdout=out, stdin=stdin)
    return out.getvalue().strip()


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def test_chat_post__text_argument(alice):
    assert run("lobby", "--user", "alice", "deployed v2") == "posted seq 1 in lobby"
    assert Message.objects.get().text == "deployed v2"


@pytest.mark.parametrize("args", [("-",), ()])
def test_chat_post__text_from_stdin_when_dash_or_absent(alice, args):
    out = run("lobby", *args, "--user", "alice", "--json", stdin=Stdin("line 1\nline 2\n"))
    message = json.loads(out)
    assert message["text"] == "line 1\nline 2" and message["seq"] == 1


def test_chat_post__a_terminal_on_stdin_is_refused_not_waited_for(alice):
    with pytest.raises(CommandError, match="Give the message as TEXT"):
        run("lobby", "--user", "alice", stdin=Terminal())


def test_chat_post__repeated_client_id_reports_the_first(alice):
    run("lobby", "--user", "alice", "--client-id", "rel-7", "v7")
    out = run("lobby", "--user", "alice", "--client-id", "rel-7", "v7 again")
    assert out.startswith("already posted: seq 1 in lobby")
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (("lobby", "--user", "nobody", "hi"), "auth_required: There is no user named 'nobody'"),
        (("lobby", "--user", "alice", "   "), "empty: "),
        (("lobby", "--user", "alice", "x" * 4001), "too_long: "),
        (("Lobby!", "--user", "alice", "hi"), "not_found: "),
        (("lobby", "--user", "alice", "--client-id", "a b", "hi"), "bad_field: "),
        (("club", "--user", "alice", "hi"), "forbidden: alice is not a member"),
    ],
)  # fmt: skip
def test_chat_post__refusals_exit_1_with_the_code_and_reason(alice, make_user, args, message):
    Room.objects.create(name="club", is_private=True, owner=make_user("carol"))
    with pytest.raises(CommandError, match=message) as refused:
        run(*args)
    assert refused.value.returncode == 1
    assert not Message.objects.exists()


def test_chat_post__rate_limited_exits_75_to_retry_later(settings, alice):
    settings.CHAT_MESSAGE_RATE = (1, 60)
    run("lobby", "--user", "alice", "one")
    with pytest.raises(CommandError, match=r"rate_limited: .*retry after") as refused:
        run("lobby", "--user", "alice", "two")
    assert refused.value.returncode == 75


def test_chat_post__over_long_stdin_is_too_long(alice):
    with pytest.raises(CommandError, match="too_long"):
        run("lobby", "--user", "alice", stdin=Stdin("x" * 70_000))
