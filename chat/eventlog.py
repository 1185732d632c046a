"""The room's log folded into its messages' current state (pure: no I/O).

A room's state is {seq: message object in its current state}. Applying an event of the log
(as resume or the live stream sends it) to the state at the seq before it gives the state
at its seq; so a client that holds the state at seq S and applies every event after S ends
with the state a fresh `hello` shows. This is the rule the browser client follows too
(chat/static/chat/room.js), and what the property tests check the server against.
"""

import copy

__all__ = ["apply", "fold"]


def _message(state, seq):
    message = state.get(seq)
    return message if message is not None and not message["deleted"] else None


def apply(state, event):
    """The state after event (a new dict; state is not changed). An event about a message
    the state does not hold (older than what the client loaded) changes nothing."""
    state = dict(state)
    kind = event["type"]
    if kind == "message":
        message = copy.deepcopy(event)
        message.setdefault("reactions", {})
        state[event["seq"]] = message
        return state
    message = _message(state, event.get("target"))
    if message is None:
        return state
    message = copy.deepcopy(message)
    if kind == "edit":
        message.update(text=event["text"], mentions=list(event["mentions"]), edited=event["ts"])
    elif kind == "delete":
        message.update(text="", mentions=[], reactions={}, deleted=True)
    elif kind == "reaction":
        users = set(message["reactions"].get(event["emoji"], []))
        if event["on"]:
            users.add(event["user"])
        else:
            users.discard(event["user"])
        if users:
            message["reactions"][event["emoji"]] = sorted(users)
        else:
            message["reactions"].pop(event["emoji"], None)
    state[message["seq"]] = message
    return state


def fold(events, state=None):
    """The state after applying events, in order, to state (empty when None)."""
    state = {} if state is None else state
    for event in events:
        state = apply(state, event)
    return state
