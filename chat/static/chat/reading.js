// Where the reader stopped, on the room page: the "new messages" line at the read position
// the room opened with, the read position advanced as the reader sees messages (the page
// visible, the messages scrolled into the log's view; `read`, at most one a second, only
// when it grows), and ?at=<seq> (a search result) opening the room at that message. Works on
// window.ChatRoom (room.js) with ChatInbox.ReadPosition (inbox.js).
(function () {
  "use strict";
  const page = window.ChatRoom;
  const { connection, shown, log, list } = page;
  const position = new window.ChatInbox.ReadPosition(0, 1000);
  let opened = false; // the page's first hello is drawn
  let timer = null;

  page.on("read", (seq) => position.moved(seq)); // hello.read, and every `read` frame

  /** The newest seq the reader has seen: everything when the log is at its end, else the
   * last message whose bottom shows in the log. */
  function seenUpTo() {
    if (log.scrollHeight - log.scrollTop - log.clientHeight < 40) return connection.timeline.cursor;
    const bottom = log.getBoundingClientRect().bottom + 1;
    const items = list.children;
    for (let i = items.length - 1; i >= 0; i--) {
      const box = items[i].getBoundingClientRect();
      if (box.height && box.bottom <= bottom) return Number(items[i].dataset.seq) || 0;
    }
    return 0;
  }

  function report() {
    clearTimeout(timer);
    timer = null;
    if (!opened || !connection.me || document.visibilityState !== "visible") return;
    const now = Date.now();
    const seq = position.want(seenUpTo(), now);
    if (seq !== null && connection.markRead(seq)) position.sent(seq, now);
    const wait = position.delay(now);
    if (wait !== null && wait > 0) timer = setTimeout(report, wait);
  }

  // the "new messages" line ---------------------------------------------------------------

  let line = null; // {read, upTo}: the read position and the latest seq when the room opened

  /** The first message after the read position by someone else, not deleted (up to the
   * seq the room had when it opened: later ones are news of this visit, not missed). */
  function firstUnread() {
    for (const seq of connection.timeline.seqs) {
      if (seq <= line.read || seq > line.upTo) continue;
      const message = connection.timeline.get(seq);
      if (message && message.user !== connection.me && !message.deleted && shown.has(seq)) return shown.get(seq);
    }
    return null;
  }

  function placeLine() {
    if (!line || list.querySelector(".first-unread")) return null;
    const li = firstUnread();
    if (li) li.classList.add("first-unread");
    return li;
  }

  page.on("connected", (first) => {
    if (first) {
      const read = connection.readSeq;
      const upTo = connection.timeline.cursor;
      // A reader who never read here sees the line only when the whole room is shown (a
      // first visit to a long room has nothing "since last time").
      if (read !== null && read < upTo && (read > 0 || connection.olderComplete)) line = { read, upTo };
      const at = Number(new URLSearchParams(window.location.search).get("at"));
      const li = placeLine();
      if (Number.isInteger(at) && at > 0) {
        page.goTo(at, { found: true });
      } else if (li && li.getBoundingClientRect().top < log.getBoundingClientRect().top) {
        li.scrollIntoView({ block: "start" }); // more is new than the log shows: from the line
      }
      opened = true;
    }
    report();
  });
  page.on("batch", () => {
    if (line) placeLine(); // a page of older history may bring the first unread message
    report();
  });
  log.addEventListener("scroll", () => {
    if (!timer) timer = setTimeout(report, 150);
  }, { passive: true });
  document.addEventListener("visibilitychange", report);
  window.addEventListener("focus", report);
})();
