"""The client's pure modules of version 2's pages in Chromium: the inbox state (inbox.js),
the read position a room page reports, the mention notification, and search.js's
highlighting of the words searched for."""

import pytest

pytestmark = pytest.mark.browser

ROOMS = [
    {"room": "lobby", "private": False, "seq": 42, "read": 40, "unread": 2, "mentions": 1, "title": "lobby"},
    {"room": "dm-1-2", "private": True, "seq": 7, "read": 7, "unread": 0, "mentions": 0, "title": "bob"},
    {"room": "team", "private": True, "seq": 3, "read": 0, "unread": 3, "mentions": 0, "title": "team"},
]  # fmt: skip

APPLY = """([rooms, frames]) => {
  const s = new ChatInbox.State();
  const changed = [s.apply({ type: "inbox", rooms })];
  for (const frame of frames) changed.push(s.apply(frame));
  return { changed, order: s.order, rooms: s.list(), totals: s.totals(),
           labels: s.order.map((r) => s.label(r)), loaded: s.loaded };
}"""


def run(page, frames, rooms=ROOMS):
    return page.evaluate(APPLY, [rooms, frames])


def test_inbox_state__the_first_frame_gives_the_rooms_in_order_with_their_counts(blank_page):
    result = run(blank_page, [])
    assert result["changed"] == [None]  # a whole new list
    assert result["loaded"] is True
    assert result["order"] == ["lobby", "dm-1-2", "team"]
    assert result["labels"] == ["#lobby", "bob", "#team"]  # a direct room: the other's name
    assert result["totals"] == {"unread": 5, "mentions": 1, "rooms": 2}
    assert result["rooms"][0] == ROOMS[0]


def test_inbox_state__unread_frames_move_active_rooms_to_the_top_reading_does_not(blank_page):
    result = run(
        blank_page,
        [
            {"type": "unread", "room": "team", "seq": 4, "unread": 4, "mentions": 1},
            {"type": "unread", "room": "lobby", "seq": 42, "unread": 0, "mentions": 0},
            {"type": "read", "room": "lobby", "seq": 42},
            {"type": "unread", "room": "new-room", "seq": 1, "unread": 1, "mentions": 0},
            {
                "type": "unread",
                "room": "dm-1-3",
                "seq": 2,
                "unread": 1,
                "mentions": 0,
                "private": True,
                "title": "carol",
            },
            {"type": "mention", "room": "team", "seq": 4, "user": "bob", "text": "hi @alice"},
            {"type": "read", "room": "not-followed", "seq": 9},
            {"type": "what", "room": "lobby"},
        ],
    )
    assert result["changed"][1:] == [
        ["team"], ["lobby"], ["lobby"], ["new-room"], ["dm-1-3"], [], [], []
    ]  # fmt: skip
    assert result["order"] == ["dm-1-3", "new-room", "team", "lobby", "dm-1-2"]
    by_room = {r["room"]: r for r in result["rooms"]}
    assert by_room["team"]["unread"] == 4 and by_room["team"]["mentions"] == 1
    assert by_room["team"]["title"] == "team"  # kept from the inbox frame
    assert by_room["lobby"] == {**ROOMS[0], "read": 42, "unread": 0, "mentions": 0}
    assert by_room["new-room"]["title"] == "new-room"  # a newly followed room: its name
    assert by_room["dm-1-3"]["title"] == "carol" and by_room["dm-1-3"]["private"] is True
    assert result["labels"][0] == "carol"
    assert result["totals"] == {"unread": 6, "mentions": 1, "rooms": 3}


def test_inbox_state__unfollow_removes_a_room_and_a_new_inbox_frame_replaces_all(blank_page):
    result = run(
        blank_page,
        [
            {"type": "unfollow", "room": "team"},
            {"type": "unfollow", "room": "team"},
            {"type": "inbox", "rooms": [ROOMS[2], ROOMS[2], {"room": 5}, None]},
        ],
    )
    assert result["changed"][1:] == [["team"], [], None]
    assert result["order"] == ["team"]  # the reconnect's snapshot, duplicates and junk dropped
    assert result["totals"] == {"unread": 3, "mentions": 0, "rooms": 1}


def test_inbox_state__bad_numbers_count_as_zero(blank_page):
    result = run(
        blank_page,
        [{"type": "unread", "room": "lobby", "seq": "x", "unread": -3, "mentions": 1.5}],
        rooms=[{"room": "lobby", "seq": 2, "unread": 1}],
    )
    assert result["rooms"][0] == {
        "room": "lobby", "private": False, "seq": 0, "read": 0, "unread": 0, "mentions": 0,
        "title": "lobby",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("unread", "mentions", "said"),
    [(0, 0, ""), (1, 0, "1 unread"), (3, 1, "3 unread, 1 mention"), (12, 2, "12 unread, 2 mentions"),
     (0, 1, "1 mention")],
)  # fmt: skip
def test_describe_counts__what_a_screen_reader_hears_of_a_badge(blank_page, unread, mentions, said):
    assert (
        blank_page.evaluate("([u, m]) => ChatInbox.describeCounts(u, m)", [unread, mentions])
        == said
    )


def test_mention_notification__title_body_and_one_tag_per_message(blank_page):
    shown = blank_page.evaluate(
        """() => [
          ChatInbox.mentionNotification({ room: "dm-1-2", seq: 9, user: "bob", text: "hi @alice" }, "bob"),
          ChatInbox.mentionNotification({ room: "lobby", seq: 3, user: "carol", text: "x".repeat(300) }),
        ]"""
    )
    assert shown[0] == {
        "title": "bob mentioned you in bob", "body": "hi @alice", "tag": "mention:dm-1-2:9",
        "room": "dm-1-2", "seq": 9,
    }  # fmt: skip
    assert shown[1]["title"] == "carol mentioned you in #lobby"
    assert len(shown[1]["body"]) == 200 and shown[1]["body"].endswith("…")


def test_read_position__sends_only_growth_at_most_once_a_second(blank_page):
    steps = blank_page.evaluate(
        """() => {
          const r = new ChatInbox.ReadPosition(10, 1000);
          const out = [];
          const step = (what, seq, now) => {
            const want = r.want(seq, now);
            if (want !== null) r.sent(want, now);
            out.push([what, want, r.delay(now)]);
          };
          step("seen what the server has", 10, 0);
          step("seen more", 12, 0);
          step("more within the second", 15, 500);
          step("less", 11, 900);
          step("the second is over", 11, 1000);
          r.moved(30);  // another device read further
          step("behind another device", 20, 5000);
          step("past it", 31, 5000);
          return out;
        }"""
    )
    assert steps == [
        ["seen what the server has", None, None],
        ["seen more", 12, None],
        ["more within the second", None, 500],  # waits: the page calls it again then
        ["less", None, 100],
        ["the second is over", 15, None],  # what was seen meanwhile, not the lower seq
        ["behind another device", None, None],
        ["past it", 31, None],
    ]


@pytest.mark.parametrize(
    ("text", "query", "parts"),
    [
        ("Meeting at noon", "meeting", [["Meeting", True], [" at noon", False]]),
        ("the meetings moved; MEETING room", "Meeting room", [
            ["the ", False], ["meetings", True], [" moved; ", False], ["MEETING", True],
            [" ", False], ["room", True]]),
        ("no match here", "zebra", [["no match here", False]]),
        ("<b>bold</b> & co", "bold", [["<b>", False], ["bold", True], ["</b> & co", False]]),
        ("café crème", "CAFÉ", [["café", True], [" crème", False]]),
        ("", "x", []),
        ("text", "  !!  ", [["text", False]]),
    ],
)  # fmt: skip
def test_highlight__marks_the_words_searched_for_as_text_parts(blank_page, text, query, parts):
    got = blank_page.evaluate(
        "([t, q]) => ChatSearch.highlightParts(t, q).map(p => [p.text, Boolean(p.match)])",
        [text, query],
    )
    assert got == parts
    assert "".join(p for p, _ in got) == text  # nothing lost, nothing added
