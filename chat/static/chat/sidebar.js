// The followed rooms of a logged-in reader, on every page: one inbox socket (/ws/inbox/) per
// page feeds ChatInbox.State (inbox.js); this draws the sidebar (#sidebar), the counts on
// the room list's rows (.room-row) and the phone toggle's total, and raises a browser
// notification on a mention while the page is hidden, once the reader allowed them (the
// "Notify me of mentions" button asks; nothing asks on load). Close codes and backoff are
// core.js's. User data reaches the page only through textContent and checked hrefs.
(function () {
  "use strict";
  const { Backoff, closeAction } = window.ChatCore;
  const { State, describeCounts, mentionNotification } = window.ChatInbox;
  const $ = (id) => document.getElementById(id);

  const sidebar = $("sidebar");
  if (!sidebar) return;
  const list = $("sidebar-rooms");
  const empty = $("sidebar-empty");
  const toggleCount = $("sidebar-count");
  const current = document.body.dataset.room || "";

  const FIRST_FRAME_TIMEOUT = 10000;
  const PING_EVERY = 25000;
  const STABLE_AFTER = 10000;

  const state = new State();
  window.ChatInbox.state = state; // search.js names rooms with it; the browser tests read it

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** The badge of a room: the visible numbers, and the sentence a screen reader hears. */
  function badge(entry) {
    const node = el("span", "counts");
    node.dataset.unread = String(entry.unread);
    node.dataset.mentions = String(entry.mentions);
    if (!entry.unread && !entry.mentions) return node;
    if (entry.mentions) node.append(el("span", "mentions-n", `@${entry.mentions}`));
    if (entry.unread) node.append(el("span", "unread-n", String(entry.unread)));
    for (const shown of node.children) shown.setAttribute("aria-hidden", "true");
    node.append(el("span", "visually-hidden", `, ${describeCounts(entry.unread, entry.mentions)}`));
    return node;
  }

  const roomHref = (name) => `/chat/${encodeURIComponent(name)}/`;

  function item(entry) {
    const li = el("li", "side-room");
    li.dataset.room = entry.room;
    const link = el("a", entry.title !== entry.room ? "side-link direct" : "side-link");
    link.href = roomHref(entry.room);
    link.append(el("span", "side-name", state.label(entry.room)), badge(entry));
    if (entry.room === current) link.setAttribute("aria-current", "page");
    li.classList.toggle("has-unread", entry.unread > 0);
    li.append(link);
    return li;
  }

  function drawRow(row, entry) {
    const counts = row.querySelector(".counts");
    const fresh = badge(entry || { unread: 0, mentions: 0 });
    if (counts) counts.replaceWith(fresh);
    else row.querySelector(".room-name").after(fresh);
  }

  function draw(changed) {
    // The whole list is drawn again (a few dozen links at most); the focus stays on its room.
    const focused = list.contains(document.activeElement)
      ? document.activeElement.closest(".side-room").dataset.room
      : null;
    list.replaceChildren(...state.list().map(item));
    if (focused) {
      const again = list.querySelector(`.side-room[data-room="${CSS.escape(focused)}"] a`);
      if (again) again.focus();
    }
    empty.hidden = !state.loaded || state.rooms.size > 0;
    const totals = state.totals();
    toggleCount.textContent = totals.unread > 99 ? "99+" : totals.unread ? String(totals.unread) : "";
    const toggle = toggleCount.closest("button");
    const summary = describeCounts(totals.unread, totals.mentions);
    toggle.setAttribute("aria-label", summary ? `Your rooms, ${summary}` : "Your rooms");
    for (const row of document.querySelectorAll(".room-row[data-room]")) {
      if (changed === null || changed.includes(row.dataset.room)) drawRow(row, state.get(row.dataset.room));
    }
  }

  // direct rooms: a user's name opens the room of the reader and them ----------------------

  const dmForm = $("dm-form");
  window.ChatDirect = {
    open(user) {
      if (!user || user === document.body.dataset.me) return;
      dmForm.action = `/dm/${encodeURIComponent(user)}/`;
      dmForm.submit();
    },
  };

  // notifications ------------------------------------------------------------------------

  const notify = $("notify");
  const notifyState = $("notify-state");
  const supported = typeof window.Notification === "function";

  function showNotifyState() {
    const permission = supported ? window.Notification.permission : "unsupported";
    notify.hidden = permission !== "default";
    notifyState.hidden = permission === "default";
    notifyState.textContent = {
      granted: "Mentions are notified while this page is hidden.",
      denied: "Notifications are blocked in this browser's settings.",
      unsupported: "This browser shows no notifications.",
      default: "Mentions are not notified.",
    }[permission];
  }

  notify.addEventListener("click", async () => {
    try {
      await window.Notification.requestPermission();
    } catch (_) {
      // an old browser's callback form, or refused: the state below says what it is
    }
    showNotifyState();
    notifyState.focus();
  });
  showNotifyState();

  function mentioned(frame) {
    if (!document.hidden || !supported || window.Notification.permission !== "granted") return;
    const shown = mentionNotification(frame, state.label(frame.room));
    try {
      const notification = new window.Notification(shown.title, { body: shown.body, tag: shown.tag });
      notification.onclick = () => {
        window.focus();
        window.location.assign(`${roomHref(shown.room)}?at=${shown.seq}`);
      };
    } catch (_) {
      // a browser that wants notifications from a service worker only: the badge still says it
    }
  }

  // the socket ---------------------------------------------------------------------------

  const backoff = new Backoff();
  let socket = null;
  let greeted = false;
  let openedAt = 0;
  let lastFrameAt = 0;
  const timers = {};

  function clearTimers() {
    for (const name of Object.keys(timers)) {
      clearTimeout(timers[name]);
      clearInterval(timers[name]);
      delete timers[name];
    }
  }

  function connect() {
    clearTimers();
    greeted = false;
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const opened = new WebSocket(`${scheme}//${window.location.host}/ws/inbox/`);
    socket = opened;
    sidebar.dataset.connection = "connecting";
    opened.onmessage = (event) => received(opened, event.data);
    opened.onclose = (event) => closed(opened, event.code);
    timers.first = setTimeout(() => {
      if (socket === opened && !greeted) abandon(opened);
    }, FIRST_FRAME_TIMEOUT);
  }

  function abandon(dead) {
    dead.onclose = null;
    dead.onmessage = null;
    dead.close(4000, "no answer");
    closed(dead, 1006);
  }

  function received(from, data) {
    if (from !== socket) return;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch (_) {
      return;
    }
    lastFrameAt = Date.now();
    if (frame.type === "inbox") {
      greeted = true;
      openedAt = Date.now();
      sidebar.dataset.connection = "connected";
      clearTimeout(timers.first);
      timers.ping = setInterval(() => {
        if (Date.now() - lastFrameAt > 2 * PING_EVERY) abandon(socket);
        else socket.send(JSON.stringify({ type: "ping" }));
      }, PING_EVERY);
    }
    if (frame.type === "mention") mentioned(frame);
    const changed = state.apply(frame);
    if (changed === null || changed.length) draw(changed);
  }

  function closed(from, code) {
    if (from !== socket) return;
    socket = null;
    clearTimers();
    const action = closeAction(code);
    if (action.stop) {
      sidebar.dataset.connection = "offline"; // 4401: the session ended; the page says so
      return;
    }
    if (openedAt && Date.now() - openedAt > STABLE_AFTER) backoff.reset();
    openedAt = 0;
    sidebar.dataset.connection = "reconnecting";
    timers.retry = setTimeout(connect, backoff.next(action.minDelay));
  }

  window.addEventListener("online", () => {
    if (socket === null && timers.retry) connect();
  });
  window.addEventListener("pagehide", () => {
    clearTimers();
    if (socket) {
      socket.onclose = null;
      socket.close(1000);
      socket = null;
    }
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) connect(); // back from the cache with a closed socket
  });
  connect();
})();
