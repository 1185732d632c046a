// The room page: renders what ChatConnection reports and wires the composer to it.
// User data reaches the page only through textContent and checked hrefs, never as HTML.
(function () {
  "use strict";
  const { prepareText, linkParts, presenceSummary, MAX_TEXT } = window.ChatCore;
  const $ = (id) => document.getElementById(id);

  const root = $("chat");
  const log = $("log");
  const list = $("messages");
  const outboxList = $("outbox");
  const statusEl = $("status");
  const statusText = $("status-text");
  const retry = $("retry");
  const older = $("older");
  const beginning = $("beginning");
  const jump = $("jump");
  const typingEl = $("typing");
  const noticeEl = $("notice");
  const presenceList = $("presence");
  const presenceSummaryEl = $("presence-summary");
  const peopleCount = $("people-count");
  const announcer = $("announcer");
  const statusLive = $("status-live");
  const composer = $("composer");
  const input = $("text");
  const counter = $("counter");
  const sendButton = $("send");

  const shown = new Map(); // seq -> <li> of a message object
  const pendingEls = new Map(); // client_id -> <li> of an outbox entry
  const sentEls = new Map(); // seq -> <li> acked, until its message object arrives

  const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
  const dayClock = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit",
  });
  const fullDate = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function localTime(iso) {
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return el("time", "time", "");
    const today = new Date().toDateString() === when.toDateString();
    const node = el("time", "time", (today ? clock : dayClock).format(when));
    node.dateTime = iso;
    node.title = fullDate.format(when);
    return node;
  }

  function body(text) {
    const node = el("div", "body");
    for (const part of linkParts(text)) {
      if (part.href) {
        const link = el("a", null, part.text);
        link.href = part.href;
        link.rel = "noopener noreferrer nofollow ugc";
        link.target = "_blank";
        node.append(link);
      } else {
        node.append(document.createTextNode(part.text));
      }
    }
    return node;
  }

  function messageItem(author, mine, timeNode, text) {
    const li = el("li", mine ? "message mine" : "message");
    const meta = el("div", "meta");
    meta.append(el("span", "author", author));
    if (mine) meta.append(el("span", "you", "you"));
    if (timeNode) meta.append(timeNode);
    li.append(meta, body(text));
    return li;
  }

  /** The first shown message from seq on (seqs the timeline holds but not shown yet skipped). */
  function shownAfter(seq) {
    if (seq === null) return null;
    const seqs = connection.timeline.seqs;
    for (let i = seqs.indexOf(seq); i >= 0 && i < seqs.length; i++) {
      const li = shown.get(seqs[i]);
      if (li) return li;
    }
    return null;
  }

  // scrolling ----------------------------------------------------------------------------

  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  let pinned = true; // the reader is at the end of the conversation
  const toBottom = () => {
    log.scrollTop = log.scrollHeight;
    pinned = true;
    jump.hidden = true;
  };

  log.addEventListener("scroll", () => {
    if (log.scrollTop < 120) connection.loadOlder();
    pinned = atBottom();
    if (pinned) jump.hidden = true;
  });
  // The log got smaller or larger (the on-screen keyboard, a rotated phone): a reader at the
  // end stays at the end, next to the composer.
  new ResizeObserver(() => {
    if (pinned) log.scrollTop = log.scrollHeight;
  }).observe(log);

  // screen readers: new messages, briefly, through a polite log; history is never read ------

  const ANNOUNCED_KEPT = 20;
  const ANNOUNCE_EACH = 3; // a larger batch is announced as "N new messages"
  const clip = (text) => (text.length > 200 ? text.slice(0, 199) + "…" : text);

  function announce(text) {
    announcer.append(el("p", null, text));
    while (announcer.childElementCount > ANNOUNCED_KEPT) announcer.firstElementChild.remove();
  }

  function announceMessages(messages) {
    if (messages.length > ANNOUNCE_EACH) announce(`${messages.length} new messages`);
    else for (const m of messages) announce(`${m.user}: ${clip(m.text)}`);
  }

  // Messages arrive in batches (hello's history, a resume, a page of scrollback, a message):
  // the DOM changes for all of a batch, then the layout is read once and the log scrolled
  // once, when the task that brought it is done.
  const batch = { open: false, follow: false, newest: false, mine: false, fresh: [] };
  let live = false; // after the first hello: messages from then on are new to the reader
  let loadingOlder = false;

  function joinBatch() {
    if (batch.open) return;
    batch.open = true;
    batch.follow = pinned;
    queueMicrotask(endBatch);
  }

  function endBatch() {
    batch.open = false;
    if (batch.newest) {
      if (batch.follow || batch.mine) toBottom();
      else jump.hidden = false;
    }
    announceMessages(batch.fresh);
    Object.assign(batch, { newest: false, mine: false, fresh: [] });
  }
  jump.addEventListener("click", () => {
    toBottom();
    log.focus();
  });
  older.addEventListener("click", () => connection.loadOlder());

  // unread messages while the tab is in the background: "(3) #room · Chat" --------------

  const unread = {
    count: 0,
    title: document.title,
    add() {
      this.count++;
      document.title = `(${this.count}) ${this.title}`;
    },
    clear() {
      this.count = 0;
      document.title = this.title;
    },
  };

  // status -------------------------------------------------------------------------------

  let countdown = null;

  function setStatus(state, text, title) {
    statusEl.dataset.state = state;
    statusText.textContent = text;
    statusEl.title = title || "";
  }

  function showNotice(text, { sticky = false } = {}) {
    noticeEl.textContent = text;
    noticeEl.hidden = !text;
    clearTimeout(showNotice.timer);
    if (text && !sticky) showNotice.timer = setTimeout(() => (noticeEl.hidden = true), 8000);
  }

  retry.addEventListener("click", () => connection.retryNow());

  // The visible status counts down every second; a screen reader hears each change once.
  let heardState = "connecting";
  function announceStatus(state) {
    if (state === heardState || state === "connecting") return;
    const first = heardState === "connecting" && state === "connected" && !live;
    heardState = state;
    if (first) return; // the page just opened: nothing to say
    const said = {
      connected: "Connected again.",
      reconnecting: "Connection lost: reconnecting.",
      offline: "Offline.", // the reason is in the notice, an alert of its own
    };
    statusLive.textContent = said[state] || "";
  }

  // what the connection reports ----------------------------------------------------------

  const view = {
    status(state, info) {
      clearInterval(countdown);
      announceStatus(state);
      statusEl.dataset.code = info.code || ""; // the close code that led here, if any
      retry.hidden = state !== "reconnecting" && !(state === "offline" && !info.final);
      root.dataset.connection = state;
      if (state === "connecting") setStatus(state, "Connecting…");
      else if (state === "connected") {
        live = true;
        setStatus(state, "Connected");
        if (root.dataset.user && !info.me) {
          showNotice("Your session has ended: log in again to post.", { sticky: true });
        } else if (!noticeEl.dataset.sticky) {
          showNotice("");
        }
      } else if (state === "reconnecting") {
        const tick = () => {
          const seconds = Math.max(0, Math.ceil((info.at - Date.now()) / 1000));
          setStatus(state, `Reconnecting in ${seconds} s`, info.reason);
        };
        tick();
        countdown = setInterval(tick, 250);
      } else if (state === "offline") {
        setStatus(state, "Offline", info.reason);
        showNotice(info.reason, { sticky: true });
        if (info.final) {
          noticeEl.dataset.sticky = "1";
          if (input) input.disabled = sendButton.disabled = true;
        }
      }
    },

    message(message, nextSeq) {
      joinBatch();
      const mine = Boolean(connection.me) && message.user === connection.me;
      const li = messageItem(message.user, mine, localTime(message.ts), message.text);
      li.dataset.seq = message.seq;
      const stale = sentEls.get(message.seq);
      if (stale) {
        stale.remove();
        sentEls.delete(message.seq);
      }
      const before = shownAfter(nextSeq);
      list.insertBefore(li, before);
      shown.set(message.seq, li);
      if (live && !loadingOlder && !mine) batch.fresh.push(message);
      if (before === null) {
        batch.newest = true;
        batch.mine = batch.mine || mine;
        if (document.hidden && !mine) unread.add();
      }
    },

    older(messages, complete) {
      // Inserted newest first, each before the one after it; the reader's place is kept:
      // the log scrolls down by exactly the height added above what it shows.
      const height = log.scrollHeight;
      const top = log.scrollTop;
      loadingOlder = true;
      for (const m of messages.slice().reverse()) {
        this.message(m, connection.timeline.nextAfter(m.seq));
      }
      loadingOlder = false;
      this.olderDone(complete);
      log.scrollTop = top + (log.scrollHeight - height);
    },

    olderDone(complete) {
      if (complete && document.activeElement === older) log.focus(); // not lost to <body>
      older.hidden = complete;
      beginning.hidden = !complete;
    },

    pending(entry) {
      const li = messageItem(connection.me, true, el("span", "state", "pending"), entry.text);
      li.classList.add("pending");
      li.dataset.clientId = entry.clientId;
      pendingEls.set(entry.clientId, li);
      outboxList.append(li);
      toBottom();
    },

    settled(entry, seq, known) {
      const li = pendingEls.get(entry.clientId);
      pendingEls.delete(entry.clientId);
      if (!li) return;
      if (known || shown.has(seq)) {
        li.remove();
        return;
      }
      li.classList.replace("pending", "sent");
      li.querySelector(".state").textContent = "sent";
      li.dataset.seq = seq;
      sentEls.set(seq, li);
    },

    failed(entry, reason) {
      const li = pendingEls.get(entry.clientId);
      if (!li) return;
      li.classList.replace("pending", "failed");
      li.querySelector(".state").textContent = "not sent";
      const why = el("p", "why", reason + " ");
      const remove = el("button", "link", "Remove");
      remove.type = "button";
      remove.addEventListener("click", () => {
        connection.outbox.settle(entry.clientId);
        pendingEls.delete(entry.clientId);
        li.remove();
      });
      why.append(remove);
      li.append(why);
    },

    hidden(seq) {
      const author = shown.get(seq)?.querySelector(".author")?.textContent;
      for (const map of [shown, sentEls]) {
        const li = map.get(seq);
        if (li) li.remove();
        map.delete(seq);
      }
      if (author) announce(`A message by ${author} was removed.`);
    },

    presence(users, anonymous, me) {
      presenceSummaryEl.textContent = presenceSummary(users, anonymous);
      peopleCount.textContent = String(users.length + anonymous);
      presenceList.replaceChildren(
        ...users.map((user) => {
          const li = el("li", user === me ? "me" : "");
          li.append(el("span", "name", user));
          if (user === me) li.append(el("span", "you", "you"));
          return li;
        }),
      );
    },

    typing(text) {
      typingEl.textContent = text;
    },

    notice(text) {
      showNotice(text);
    },
  };

  const connection = new window.ChatConnection({
    room: root.dataset.room,
    me: root.dataset.user || "",
    view,
    storage: window.sessionStorage,
  });
  window.chatConnection = connection; // for the curious, and for the browser tests

  // the composer -------------------------------------------------------------------------

  function updateCounter() {
    const { length } = prepareText(input.value);
    counter.textContent = `${length} / ${MAX_TEXT}`;
    const over = length > MAX_TEXT;
    counter.classList.toggle("over", over);
    input.setAttribute("aria-invalid", over ? "true" : "false");
    sendButton.disabled = over || input.disabled;
  }

  if (composer) {
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      const prepared = prepareText(input.value);
      if (prepared.error === "empty") return;
      if (prepared.error === "too_long") {
        showNotice(`A message is at most ${MAX_TEXT} characters; this one has ${prepared.length}.`);
        return;
      }
      connection.send(prepared.text);
      input.value = "";
      updateCounter();
      input.focus();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      composer.requestSubmit();
    });
    input.addEventListener("input", () => {
      updateCounter();
      if (input.value.trim()) connection.typing();
    });
    updateCounter();
  }

  window.addEventListener("online", () => connection.retryNow());
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    unread.clear();
    if (root.dataset.connection === "reconnecting") connection.retryNow(); // back from sleep
  });
  window.addEventListener("pagehide", () => connection.close());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) window.location.reload(); // back from the cache with a closed socket
  });
  connection.start();
})();
