"""No layout shift: the room page's first render keeps its place for the history, older
history is prepended without moving what the reader looks at, and a batch of messages costs
one layout, not one per message.
"""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Every layout shift since the page opened (buffered), as the Layout Instability API counts.
SHIFTS = """() => new Promise((resolve) => {
  new PerformanceObserver((list, observer) => {
    observer.disconnect();
    resolve(list.getEntries().filter(e => !e.hadRecentInput).map(e => ({
      value: e.value,
      sources: e.sources.map(s => (s.node ? (s.node.id || s.node.className || s.node.nodeName) : "?")
        + ` ${JSON.stringify(s.previousRect)} -> ${JSON.stringify(s.currentRect)}`),
    })));
  }).observe({ type: "layout-shift", buffered: true });
  setTimeout(() => resolve([]), 1000); // none at all: the observer is never called
})"""


def ready(page):
    expect(page.locator("#status")).to_have_attribute("data-state", "connected")
    expect(page.locator("#messages > li")).to_have_count(50)
    expect(page.locator("#presence .name")).not_to_have_count(0)
    page.wait_for_timeout(300)  # a few frames after the last change


@pytest.mark.parametrize("width,height", [(1280, 800), (360, 740)], ids=["desktop", "phone"])
def test_layout__opening_a_room_with_history_shifts_nothing(open_page, width, height):
    page = open_page("alice", "/chat/history/", viewport={"width": width, "height": height})
    ready(page)
    shifts = page.evaluate(SHIFTS)
    assert sum(s["value"] for s in shifts) < 0.001, shifts


def test_layout__older_history_is_prepended_without_moving_what_the_reader_sees(open_page):
    page = open_page("alice", "/chat/history/")
    ready(page)
    # One task: scroll to the top and measure the top message where the reader now sees it
    # (the history request goes out on the scroll event, after this).
    before = page.evaluate(
        """() => {
          const log = document.getElementById("log");
          log.scrollTop = 0;
          const first = document.querySelector("#messages > li");
          return { seq: first.dataset.seq, top: first.getBoundingClientRect().top };
        }"""
    )
    assert before["seq"] == "71"
    expect(page.locator("#messages > li")).to_have_count(100)
    after = page.locator(f'#messages > li[data-seq="{before["seq"]}"]').evaluate(
        "li => li.getBoundingClientRect().top"
    )
    assert abs(after - before["top"]) < 1, (before, after)
    assert page.locator("#log").evaluate("log => log.scrollTop") > 0
    shifts = page.evaluate(SHIFTS)
    assert sum(s["value"] for s in shifts) < 0.001, shifts


def layouts(cdp):
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "LayoutCount")


def test_layout__a_batch_of_fifty_older_messages_costs_one_reflow_not_fifty(open_page):
    page = open_page("alice", "/chat/history/")
    ready(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    start = layouts(cdp)
    page.evaluate("window.chatConnection.loadOlder()")  # no scrolling: only the batch lays out
    expect(page.locator("#messages > li")).to_have_count(100)
    page.wait_for_timeout(100)
    spent = layouts(cdp) - start
    # The batch lays out once (measured: 1; the log's height, to keep the reader's place); a
    # frame drawn meanwhile may add one or two. One layout per message would be 50 (it was).
    assert spent <= 3, spent


@pytest.mark.parametrize("width,height", [(1280, 800), (360, 740)], ids=["desktop", "phone"])
def test_layout__the_sidebar_filling_in_from_the_inbox_shifts_nothing(open_page, width, height):
    page = open_page("alice", "/", viewport={"width": width, "height": height})
    expect(page.locator("#sidebar")).to_have_attribute("data-connection", "connected")
    expect(page.locator("#sidebar-rooms .side-room").first).to_be_attached()  # drawn
    page.wait_for_timeout(300)
    shifts = page.evaluate(SHIFTS)
    assert sum(s["value"] for s in shifts) < 0.001, shifts
