"""ChatConnection (client.js) against a scripted fake WebSocket: the protocol rules alone."""

import pytest

from tests.browser.conftest import STATIC

pytestmark = pytest.mark.browser

# A WebSocket the test drives by hand, and a view that records what it is told.
HARNESS = """
window.sockets = [];
class FakeWebSocket {
  constructor(url) { this.url = url; this.readyState = 0; this.sent = []; sockets.push(this); }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code) { this.drop(code === undefined ? 1005 : code); }
  open() { this.readyState = 1; }
  receive(frame) { this.onmessage({ data: JSON.stringify(frame) }); }
  drop(code) { if (this.readyState === 3) return; this.readyState = 3; if (this.onclose) this.onclose({ code }); }
}
FakeWebSocket.OPEN = 1;
window.WebSocket = FakeWebSocket;
window.calls = [];
const view = new Proxy({}, { get: (_, name) => (...args) => calls.push([name, ...args]) });
window.called = (name) => calls.filter((c) => c[0] === name).map((c) => c.slice(1));
window.last = () => sockets[sockets.length - 1];
window.msg = (seq, extra = {}) =>
  ({ type: "message", room: "r", seq, user: "bob", text: "m" + seq, ts: "2026-01-01T00:00:00.000Z",
     client_id: null, ...extra });
Math.random = () => 0;  // backoff delays of zero: reconnects happen at once
window.conn = new ChatConnection({ room: "r", me: "alice", view, location: { protocol: "http:", host: "h" } });
conn.start();
last().open();
"""


@pytest.fixture
def client_page(blank_page):
    blank_page.add_script_tag(path=str(STATIC / "client.js"))
    blank_page.add_script_tag(content=HARNESS)
    return blank_page


def hello(seq, history=(), complete=True, user="alice"):
    return {"type": "hello", "room": "r", "user": user, "seq": seq, "history": list(history),
            "complete": complete}  # fmt: skip


def test_client__resumes_at_once_on_a_seq_gap_and_shows_each_message_once(client_page):
    result = client_page.evaluate(
        """hello => {
          last().receive(hello);
          last().receive(msg(4));
          last().receive(msg(6));            // 5 is missing
          const sent = last().sent.slice();
          last().receive(msg(5));
          last().receive(msg(6));            // resume repeats 6
          last().receive({ type: "resumed", seq: 6, complete: true });
          return { sent, shown: called("message").map(([m, next]) => [m.seq, next]),
                   cursor: conn.timeline.cursor };
        }""",
        hello(3, [{"type": "message", "seq": s, "user": "bob", "text": "x"} for s in (1, 2, 3)]),
    )
    assert result["sent"] == [{"type": "resume", "since": 4}]
    # each seq once; 5 is placed before 6
    assert result["shown"] == [[1, None], [2, None], [3, None], [4, None], [6, None], [5, 6]]
    assert result["cursor"] == 6


def test_client__reconnects_with_since_and_sends_the_outbox_again(client_page):
    result = client_page.evaluate(
        """hello => {
          last().receive(hello);
          last().receive(msg(1));
          const entry = conn.send("typed before the close");
          const first = last().sent.slice();
          last().drop(4012);
          const status = called("status").at(-1);
          return { entry, first, status };
        }""",
        hello(0),
    )
    assert result["first"] == [
        {
            "type": "message",
            "text": "typed before the close",
            "client_id": result["entry"]["clientId"],
        }
    ]
    assert result["status"][0] == "reconnecting"
    client_page.wait_for_function("sockets.length === 2")
    result = client_page.evaluate(
        """hello => {
          last().open();
          const url = last().url;
          last().receive(hello);
          const resent = last().sent.slice();
          const id = resent[0].client_id;
          last().receive({ type: "ack", client_id: id, seq: 2 });
          last().receive(msg(2, { user: "alice", client_id: id, text: "typed before the close" }));
          return { url, resent, outbox: conn.outbox.entries.length,
                   settled: called("settled").map(([e, seq, known]) => [e.text, seq, known]),
                   shown: called("message").map(([m]) => m.seq), status: called("status").at(-1)[0] };
        }""",
        hello(1),
    )
    assert result["url"] == "ws://h/ws/chat/r/?since=1"
    assert result["resent"] == [
        {
            "type": "message",
            "text": "typed before the close",
            "client_id": result["resent"][0]["client_id"],
        }
    ]
    assert result["outbox"] == 0
    assert result["settled"] == [["typed before the close", 2, False]]  # sent, then shown
    assert result["shown"] == [1, 2]
    assert result["status"] == "connected"


def test_client__a_resend_acked_with_an_older_seq_is_settled_not_shown_twice(client_page):
    result = client_page.evaluate(
        """hello => {
          last().receive(hello);
          conn.send("sent just before the outage");
          const id = last().sent[0].client_id;
          last().drop(1006);
          return id;
        }""",
        hello(0),
    )
    client_page.wait_for_function("sockets.length === 2")
    result = client_page.evaluate(
        """([hello, id]) => {
          last().open();
          last().receive(hello);  // the message was stored before the break: it is in history
          const resent = last().sent.length;
          return { resent, outbox: conn.outbox.entries.length,
                   shown: called("message").map(([m]) => m.seq) };
        }""",
        [hello(1, [{"type": "message", "seq": 1, "user": "alice", "text": "x", "client_id": result}]),
         result],
    )  # fmt: skip
    assert result == {"resent": 0, "outbox": 0, "shown": [1]}


@pytest.mark.parametrize("code", [1000, 4401, 4403, 4404])
def test_client__stops_on_the_codes_that_say_stop(client_page, code):
    status = client_page.evaluate(
        """([hello, code]) => { last().receive(hello); last().drop(code); return called("status").at(-1); }""",
        [hello(0), code],
    )
    client_page.wait_for_timeout(200)
    assert status[0] == "offline"
    assert status[1]["final"] is True and status[1]["reason"]
    assert client_page.evaluate("sockets.length") == 1


def test_client__waits_after_an_abuse_close(client_page):
    status = client_page.evaluate(
        """hello => { last().receive(hello); last().drop(4429); return called("status").at(-1); }""",
        hello(0),
    )
    assert status[0] == "reconnecting"
    assert status[1]["at"] - client_page.evaluate("Date.now()") > 9000


def test_client__a_hello_that_is_not_complete_is_followed_by_resume(client_page):
    client_page.evaluate("hello => { last().receive(hello); last().drop(4001); }", hello(2))
    client_page.wait_for_function("sockets.length === 2")
    sent = client_page.evaluate(
        """hello => { last().open(); last().receive(hello); return last().sent; }""",
        hello(900, [{"type": "message", "seq": s, "user": "bob", "text": "x"} for s in range(3, 503)],
              complete=False),
    )  # fmt: skip
    assert sent == [{"type": "resume", "since": 502}]


def test_client__rate_limited_messages_are_sent_again_after_retry_after(client_page):
    client_page.evaluate(
        """hello => {
          last().receive(hello);
          conn.send("one");
          last().receive({ type: "error", code: "rate_limited", detail: "slow", retry_after: 1 });
        }""",
        hello(0),
    )
    assert client_page.evaluate("called('notice').length") == 1
    client_page.wait_for_function("last().sent.length === 2", timeout=3000)
    sent = client_page.evaluate("last().sent.map((f) => f.text)")
    assert sent == ["one", "one"]


def test_client__a_delete_event_marks_the_message_deleted_and_it_stays_in_place(client_page):
    result = client_page.evaluate(
        """hello => {
          last().receive(hello);
          last().receive({ type: "delete", room: "r", seq: 2, user: "mod", ts: "2026-01-01T00:00:01.000Z",
                           target: 1 });
          last().receive(msg(1));  // a repeat changes nothing
          last().receive(msg(3));
          return { changed: called("changed").map(([e, m]) => [e.seq, m.seq, m.deleted, m.text]),
                   shown: called("message").map(([m]) => m.seq), cursor: conn.timeline.cursor };
        }""",
        hello(1, [{"type": "message", "seq": 1, "user": "bob", "text": "x", "reactions": {}}]),
    )
    assert result == {"changed": [[2, 1, True, ""]], "shown": [1, 3], "cursor": 3}


def test_client__edits_deletions_and_reactions_go_through_the_outbox(client_page):
    result = client_page.evaluate(
        """hello => {
          last().receive(hello);
          conn.edit(1, "fixed");
          conn.react(1, "👍", true);
          conn.remove(1);
          const sent = last().sent.map(({ client_id, ...f }) => f);
          const ids = last().sent.map((f) => f.client_id);
          const pending = conn.display(1).pending;
          last().receive({ type: "ack", client_id: ids[0], seq: 2 });
          last().receive({ type: "ack", client_id: ids[1], seq: null });  // changed nothing
          return { sent, pending, left: conn.outbox.entries.map((e) => e.kind),
                   settled: called("settled").map(([e, seq]) => [e.kind, seq]) };
        }""",
        hello(1, [{"type": "message", "seq": 1, "user": "alice", "text": "fixd", "reactions": {}}]),
    )
    assert result["sent"] == [
        {"type": "edit", "target": 1, "text": "fixed"},
        {"type": "react", "target": 1, "emoji": "👍", "on": True},
        {"type": "delete", "target": 1},
    ]
    assert result["pending"] == {"edit": True, "delete": True, "react": True}
    assert result["left"] == ["delete"]
    assert result["settled"] == [["edit", 2], ["react", None]]


def test_client__a_refused_command_is_reported_and_the_next_goes_on(client_page):
    result = client_page.evaluate(
        """hello => {
          last().receive(hello);
          conn.edit(1, "not mine");
          conn.react(1, "🎉", true);
          last().receive({ type: "error", code: "forbidden", detail: "Only its author can edit a message." });
          const ids = last().sent.map((f) => f.client_id);
          last().receive({ type: "ack", client_id: ids[1], seq: 2 });
          return { failed: called("failed").map(([e, why]) => [e.kind, why]),
                   left: conn.outbox.entries.length, open: last().readyState };
        }""",
        hello(1, [{"type": "message", "seq": 1, "user": "bob", "text": "x", "reactions": {}}]),
    )
    assert result == {
        "failed": [["edit", "Only its author can edit a message."]],
        "left": 1,  # the failed edit: the view decides (room.js drops it)
        "open": 1,
    }


def test_client__an_edit_made_offline_is_sent_on_the_next_socket_with_its_client_id(client_page):
    client_page.evaluate(
        """hello => { last().receive(hello); last().drop(1006); conn.edit(1, "while away"); }""",
        hello(1, [{"type": "message", "seq": 1, "user": "alice", "text": "x", "reactions": {}}]),
    )
    client_page.wait_for_function("sockets.length === 2")
    sent = client_page.evaluate(
        """hello => { last().open(); last().receive(hello); return last().sent; }""", hello(1)
    )
    entry = client_page.evaluate("conn.outbox.entries[0]")
    assert sent == [
        {"type": "edit", "target": 1, "text": "while away", "client_id": entry["clientId"]}
    ]


def test_client__unavailable_sends_the_commands_again_after_retry_after(client_page):
    client_page.evaluate(
        """hello => {
          last().receive(hello);
          conn.react(1, "👍", true);
          last().receive({ type: "error", code: "unavailable", detail: "failover", retry_after: 1 });
        }""",
        hello(1, [{"type": "message", "seq": 1, "user": "bob", "text": "x", "reactions": {}}]),
    )
    notice = client_page.evaluate("called('notice').at(-1)[0]")
    assert notice == "The server cannot take messages right now: trying again in 1 s."
    client_page.wait_for_function("() => last().sent.length === 2", timeout=3000)
    sent = client_page.evaluate("last().sent")
    assert sent[0] == sent[1] and sent[0]["type"] == "react"  # the same client_id again


def test_client__a_socket_that_never_says_hello_is_abandoned_and_retried(client_page):
    client_page.evaluate(
        """() => {
          conn.close();
          window.conn = new ChatConnection({ room: "r", me: "alice", view,
            location: { protocol: "http:", host: "h" }, timing: { helloTimeout: 100 } });
          conn.start();
        }"""
    )
    client_page.wait_for_function("sockets.length === 3", timeout=3000)
    assert client_page.evaluate("sockets[1].readyState") == 3


def test_client__a_silent_connection_is_abandoned_after_two_ping_intervals(client_page):
    client_page.evaluate(
        """hello => {
          conn.close();
          window.conn = new ChatConnection({ room: "r", me: "alice", view,
            location: { protocol: "http:", host: "h" }, timing: { pingEvery: 100 } });
          conn.start();
          last().open();
          last().receive(hello);
        }""",
        hello(0),
    )
    client_page.wait_for_function("sockets.length === 3", timeout=3000)
    assert {"type": "ping"} in client_page.evaluate("sockets[1].sent")
    assert client_page.evaluate("last().url") == "ws://h/ws/chat/r/?since=0"
