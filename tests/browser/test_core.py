"""The client's pure module (core.js) in Chromium: backoff, close codes, seq order, outbox."""

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


def test_timeline__a_hidden_message_is_forgotten_and_never_accepted_again(blank_page):
    result = blank_page.evaluate(
        """() => {
          const t = new ChatCore.Timeline();
          t.accept({ seq: 1 });
          t.accept({ seq: 2 });
          t.hide(2);
          t.hide(3);
          const again = t.accept({ seq: 2 }).isNew;
          return { seqs: t.seqs, cursor: t.cursor, again };
        }"""
    )
    assert result == {"seqs": [1], "cursor": 3, "again": False}


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
