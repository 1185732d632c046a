"""Property: the log replayed from any seq onto the state the server showed at that seq is
the state the server shows now (chat.eventlog against chat.store, on the real database)."""

import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chat import eventlog, services, store
from chat.models import Room

pytestmark = pytest.mark.django_db

NAMES = ("alice", "bob", "carol")
EMOJI = ("👍", "❤️", "🎉")
WORDS = ("hi", "@bob", "@carol!", "fixed", "@alice @zed")

op = st.one_of(
    st.tuples(st.just("post"), st.integers(0, 2), st.sampled_from(WORDS), st.integers(0, 6)),
    st.tuples(st.just("edit"), st.integers(0, 2), st.sampled_from(WORDS), st.integers(0, 6)),
    st.tuples(st.just("delete"), st.integers(0, 2), st.just(""), st.integers(0, 6)),
    st.tuples(st.just("react"), st.integers(0, 2), st.sampled_from(EMOJI), st.integers(0, 6)),
    st.tuples(st.just("unreact"), st.integers(0, 2), st.sampled_from(EMOJI), st.integers(0, 6)),
)


def item(kind, user, word, target):
    name = user.get_username()
    if kind == "post":
        return store.Post(user.pk, name, word, None, target or None)
    if kind == "edit":
        return store.Change("edit", user.pk, name, target or 1, text=word)
    if kind == "delete":
        return store.Change("delete", user.pk, name, target or 1)
    return store.Change("react", user.pk, name, target or 1, emoji=word, on=kind == "react")


def state(room):
    return eventlog.fold(services.latest_messages(room, 100).messages)


@pytest.fixture
def people(make_user):
    return [make_user(name) for name in NAMES]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(  # a message answered, edited, reacted to, then deleted by its author
    batches=[
        [("post", 0, "hi @bob", 0), ("post", 1, "@alice", 1)],
        [("react", 1, "👍", 1), ("edit", 0, "fixed", 1)],
        [("delete", 0, "", 1), ("react", 2, "🎉", 2)],
    ]
)
@given(batches=st.lists(st.lists(op, min_size=1, max_size=4), min_size=1, max_size=10))
def test_replay_from_any_seq_onto_the_state_there_is_the_current_state(people, batches):
    room = Room.objects.create(name=f"p-{uuid.uuid4().hex[:8]}")
    snapshots = {0: {}}
    for batch in batches:
        services.post_messages(room.pk, [item(k, people[u], w, t) for k, u, w, t in batch])
        snapshots[services.latest_seq(room.pk)] = state(room)
    log = services.events_after(room, 0, 500)
    assert log.complete
    assert [e["seq"] for e in log.messages] == list(range(1, log.latest + 1))  # gap-free
    current = state(room)
    for seq, snapshot in snapshots.items():
        replay = [e for e in log.messages if e["seq"] > seq]
        assert eventlog.fold(replay, snapshot) == current, seq
        # and the server's own replay from there is the same list
        assert services.events_after(room, seq, 500).messages == replay
