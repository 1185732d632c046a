"""The client's pure modules (core.js, eventlog.js) in Chromium: backoff, close codes, the
event log's order and state, outbox, mentions."""

import pytest

pytestmark = pytest.mark.browser


def test_backoff__full_jitter_grows_exponentially_up_to_the_cap(blank_page):
    highest, lowest = blank_page.evaluate(
        """() => {
          const high = new ChatCore.Backoff({ base: 500, cap: 15000, random: () => 0.999999 });
          const low = new ChatCore.Backoff({ base: 500, cap: 15000, random: () => 0 });
          return [Array.from({ length: 8 }, () => high.next()),
                  Array.from({ length: 3 }, () => low.next())];
        }"""
    )
    assert highest == [499, 999, 1999, 3999, 7999, 14999, 14999, 14999]
    assert lowest == [0, 0, 0]  # full jitter: anywhere from zero


def test_backoff__reset_starts_again_and_min_delay_is_kept(blank_page):
    delays = blank_page.evaluate(
        """() => {
          const b = new ChatCore.Backoff({ base: 1000, cap: 8000, random: () => 0.5 });
          const out = [b.next(), b.next(), b.next()];
          b.reset();
          out.push(b.next(), b.next(10000));
          return out;
        }"""
    )
    assert delays == [500, 1000, 2000, 500, 10000]


@pytest.mark.parametrize(
    ("code", "stop", "min_delay"),
    [
        (1000, True, 0), (4401, True, 0), (4403, True, 0), (4404, True, 0),
        (1006, False, 0), (1009, False, 0), (4001, False, 0), (4009, False, 0),
        (4012, False, 0), (4013, False, 0), (4429, False, 10000), (1011, False, 0),
    ],
)  # fmt: skip
def test_close_action__follows_the_contract(blank_page, code, stop, min_delay):
    action = blank_page.evaluate("code => ChatCore.closeAction(code)", code)
    assert (action["stop"], action["minDelay"]) == (stop, min_delay)
    assert action["reason"]
    assert action["tooLarge"] == (code in (1009, 4009))


def test_timeline__orders_by_seq_drops_duplicates_and_sees_gaps(blank_page):
    result = blank_page.evaluate(
        """() => {
          const t = new ChatCore.Timeline();
          const m = (seq) => ({ seq, text: "m" + seq });
          const steps = [];
          for (const seq of [1, 2, 2, 4, 3, 6]) {
            const r = t.accept(m(seq));
            steps.push([seq, r.isNew, r.gap, t.cursor]);
          }
          t.caughtUp(6);
          return { steps, seqs: t.seqs, cursor: t.cursor, gap: t.hasGap(), next: t.nextAfter(4) };
        }"""
    )
    assert result["steps"] == [
        [1, True, False, 1],
        [2, True, False, 2],
        [2, False, False, 2],
        [4, True, True, 2],
        [3, True, False, 4],
        [6, True, True, 4],
    ]
    assert result["seqs"] == [1, 2, 3, 4, 6]
    assert (result["cursor"], result["gap"], result["next"]) == (6, False, 6)


def test_timeline__edits_deletions_and_reactions_change_their_message_in_seq_order(blank_page):
    result = blank_page.evaluate(
        """() => {
          const t = new ChatCore.Timeline();
          const ts = "2026-01-01T00:00:00.000Z";
          const ev = (seq, type, extra) => ({ type, room: "r", seq, ts, user: "bob", target: 1, ...extra });
          t.accept({ type: "message", seq: 1, user: "alice", text: "helo", ts, reactions: {} });
          const steps = [];
          const take = (e) => {
            const r = t.accept(e);
            steps.push([e.seq, r.isNew, r.gap, r.applied.map((a) => a.seq), t.cursor]);
          };
          take(ev(2, "edit", { user: "alice", text: "hello @bob", mentions: ["bob"] }));
          take(ev(4, "reaction", { emoji: "👍", on: false }));  // beyond a gap: held
          take(ev(3, "reaction", { emoji: "👍", on: true }));   // fills it: 3 then 4 apply
          take(ev(3, "reaction", { emoji: "👍", on: true }));   // a repeat: nothing
          take(ev(5, "reaction", { emoji: "🎉", on: true, user: "carol" }));
          const before = JSON.parse(JSON.stringify(t.get(1)));
          take(ev(6, "delete", { user: "alice" }));
          take(ev(7, "edit", { user: "alice", text: "back?", mentions: [] }));  // a deleted one stays
          take(ev(2, "edit", { user: "alice", text: "old", mentions: [] }));    // at or before the cursor
          return { steps, before, after: t.get(1), seqs: t.seqs, last: t.lastOf("alice") };
        }"""
    )
    assert result["steps"] == [
        [2, True, False, [2], 2],
        [4, True, True, [], 2],
        [3, True, False, [3, 4], 4],
        [3, False, False, [], 4],
        [5, True, False, [5], 5],
        [6, True, False, [6], 6],
        [7, True, False, [7], 7],
        [2, False, False, [], 7],
    ]
    before = result["before"]
    assert (before["text"], before["mentions"], before["edited"]) == (
        "hello @bob",
        ["bob"],
        "2026-01-01T00:00:00.000Z",
    )
    assert before["reactions"] == {"🎉": ["carol"]}  # bob's 👍 on (3) then off (4)
    after = result["after"]
    assert (after["deleted"], after["text"], after["mentions"], after["reactions"]) == (
        True,
        "",
        [],
        {},
    )
    assert result["seqs"] == [1]  # changes are not messages of their own
    assert result["last"] is None  # a deleted message cannot be edited


def test_timeline__held_events_apply_when_the_cursor_is_caught_up(blank_page):
    result = blank_page.evaluate(
        """() => {
          const t = new ChatCore.Timeline();
          t.accept({ type: "message", seq: 1, user: "alice", text: "a" });
          t.caughtUp(1);
          t.accept({ type: "reaction", seq: 5, user: "bob", target: 1, emoji: "👀", on: true });
          const held = t.hasGap();
          const applied = t.caughtUp(5).map((e) => e.seq);
          return { held, applied, cursor: t.cursor, gap: t.hasGap(), reactions: t.get(1).reactions };
        }"""
    )
    assert result == {"held": True, "applied": [5], "cursor": 5, "gap": False,
                      "reactions": {"👀": ["bob"]}}  # fmt: skip


def test_timeline__an_event_about_a_message_not_loaded_applies_when_a_page_brings_it(blank_page):
    result = blank_page.evaluate(
        """() => {
          const t = new ChatCore.Timeline();
          t.accept({ type: "message", seq: 60, user: "alice", text: "newest" });
          t.caughtUp(60);
          const ev = (seq, extra) => ({ type: "reaction", seq, user: "bob", target: 5, ...extra });
          t.accept(ev(61, { emoji: "👍", on: true }));
          t.accept(ev(62, { emoji: "👍", on: false }));
          t.accept({ type: "edit", seq: 63, user: "carol", target: 5, text: "late", mentions: [] });
          // A history page read between 61 and 62: it holds the reaction, not its removal.
          t.accept({ type: "message", seq: 5, user: "carol", text: "early",
                     reactions: { "👍": ["bob"] } });
          return { state: t.get(5), orphans: t.orphans.length, cursor: t.cursor };
        }"""
    )
    assert result["state"]["reactions"] == {}
    assert result["state"]["text"] == "late"
    assert (result["orphans"], result["cursor"]) == (0, 63)


def test_message_state__hello_shows_the_current_state_of_a_message(blank_page):
    state = blank_page.evaluate(
        """() => ChatCore.messageState({ type: "message", seq: 3, user: "bob", text: "",
             deleted: true, reactions: { "👍": ["x"] }, mentions: ["alice"] })"""
    )
    assert (state["deleted"], state["text"], state["reactions"], state["mentions"]) == (
        True,
        "",
        {},
        [],
    )
    assert state["reply_to"] is None and state["edited"] is None


def test_outbox__commands_keep_their_fields_and_survive_a_reload(blank_page):
    result = blank_page.evaluate(
        """() => {
          const o = new ChatCore.Outbox();
          o.add({ text: "an answer", replyTo: 4 });
          o.command({ kind: "edit", target: 4, text: "fixed" });
          o.command({ kind: "delete", target: 5 });
          o.command({ kind: "react", target: 4, emoji: "👍", on: true });
          const frames = o.take(10).map((e) => { const f = ChatCore.commandFrame(e); delete f.client_id; return f; });
          const again = new ChatCore.Outbox(JSON.parse(JSON.stringify(o)));
          const ids = o.entries.map((e) => e.clientId);
          return { frames, kinds: again.entries.map((e) => [e.kind, e.state]),
                   same: again.entries.every((e, i) => e.clientId === ids[i]),
                   about: o.about(4).map((e) => e.kind) };
        }"""
    )
    assert result["frames"] == [
        {"type": "message", "text": "an answer", "reply_to": 4},
        {"type": "edit", "target": 4, "text": "fixed"},
        {"type": "delete", "target": 5},
        {"type": "react", "target": 4, "emoji": "👍", "on": True},
    ]
    assert result["kinds"] == [
        ["message", "queued"], ["edit", "queued"], ["delete", "queued"], ["react", "queued"]
    ]  # fmt: skip
    assert result["same"] is True
    assert result["about"] == ["edit", "react"]


def test_display__the_readers_pending_changes_show_on_top_of_the_state(blank_page):
    shown = blank_page.evaluate(
        """() => {
          const state = ChatCore.messageState({ seq: 1, user: "alice", text: "a",
                                                reactions: { "👍": ["alice", "bob"], "🎉": ["bob"] } });
          const pending = [{ kind: "edit", target: 1, text: "b" },
                           { kind: "react", target: 1, emoji: "👍", on: false },
                           { kind: "react", target: 1, emoji: "🎉", on: true }];
          return [ChatCore.display(state, pending, "alice"), state.reactions];
        }"""
    )
    display, untouched = shown
    assert display["text"] == "b"
    assert display["reactions"] == {"👍": ["bob"], "🎉": ["alice", "bob"]}
    assert display["pending"] == {"edit": True, "delete": False, "react": True}
    assert untouched == {"👍": ["alice", "bob"], "🎉": ["bob"]}


def test_mentions__parts_query_and_completion(blank_page):
    result = blank_page.evaluate(
        """() => ({
          parts: ChatCore.mentionParts("hi @ann.lee and @ann, x@ann @bobby", ["ann", "ann.lee", "bob"]),
          none: ChatCore.mentionParts("mail a@b.c", []),
          query: [ChatCore.mentionQuery("hey @ca", 7), ChatCore.mentionQuery("a@ca", 4),
                  ChatCore.mentionQuery("@", 1), ChatCore.mentionQuery("@al x", 5)],
          names: ChatCore.completeNames(["carol", "Bob", "alice", "carl", "carol", "me"], "CA", "me"),
          emoji: ["👍", "❤️", "1️⃣", "ab", "👍 👍", "", "🎉".repeat(9)].map(ChatCore.validEmoji),
        })"""
    )
    assert result["parts"] == [
        {"text": "hi "},
        {"text": "@ann.lee", "mention": "ann.lee"},
        {"text": " and "},
        {"text": "@ann", "mention": "ann"},
        {"text": ", x@ann @bobby"},
    ]
    assert result["none"] == [{"text": "mail a@b.c"}]
    assert result["query"] == [{"start": 4, "query": "ca"}, None, {"start": 0, "query": ""}, None]
    assert result["names"] == ["carl", "carol"]
    assert result["emoji"] == [True, True, True, False, False, False, False]


def test_outbox__limits_messages_in_flight_and_requeues_after_a_close(blank_page):
    result = blank_page.evaluate(
        """() => {
          const o = new ChatCore.Outbox();
          const ids = ["a", "b", "c"].map((text) => o.add(text).clientId);
          const first = o.take(2).map((e) => e.text);
          const none = o.take(2).length;
          o.settle(ids[0]);
          const second = o.take(2).map((e) => e.text);
          o.requeue();
          const again = o.take(5).map((e) => e.text);
          const valid = ids.every((id) => /^[A-Za-z0-9_-]{1,64}$/.test(id));
          return { first, none, second, again, valid, unique: new Set(ids).size,
                   saved: o.toJSON().map((e) => e.text) };
        }"""
    )
    assert result == {
        "first": ["a", "b"],
        "none": 0,
        "second": ["c"],
        "again": ["b", "c"],
        "valid": True,
        "unique": 3,
        "saved": ["b", "c"],
    }


def test_prepare_text__counts_code_points_and_strips(blank_page):
    result = blank_page.evaluate(
        """() => [ChatCore.prepareText("  hi  "), ChatCore.prepareText(" \\n "),
                  ChatCore.prepareText("😀".repeat(4000)), ChatCore.prepareText("x".repeat(4001))]"""
    )
    assert result[0] == {"text": "hi", "length": 2, "error": None}
    assert result[1]["error"] == "empty"
    assert (result[2]["length"], result[2]["error"]) == (4000, None)  # 8000 UTF-16 units
    assert result[3]["error"] == "too_long"


def test_link_parts__only_http_links_become_links(blank_page):
    parts = blank_page.evaluate(
        """() => ChatCore.linkParts(
          "see https://example.com/a?b=1&c=2. or (http://x.org/y) not javascript:alert(1)")"""
    )
    assert parts == [
        {"text": "see "},
        {"text": "https://example.com/a?b=1&c=2", "href": "https://example.com/a?b=1&c=2"},
        {"text": ". or ("},
        {"text": "http://x.org/y", "href": "http://x.org/y"},
        {"text": ") not javascript:alert(1)"},
    ]


def test_typing_tracker__describes_who_types_until_it_expires(blank_page):
    texts = blank_page.evaluate(
        """() => {
          const t = new ChatCore.TypingTracker(3000);
          const out = [t.describe(0)];
          t.add("bob", 0); out.push(t.describe(1000));
          t.add("alice", 1000); out.push(t.describe(2000));
          t.add("carol", 2000); out.push(t.describe(2500));
          out.push(t.describe(3500));
          return out;
        }"""
    )
    assert texts == ["", "bob is typing…", "alice and bob are typing…", "3 people are typing…",
                     "alice and carol are typing…"]  # fmt: skip
