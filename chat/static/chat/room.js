// The room page: renders what ChatConnection reports and wires the composer to it.
// User data reaches the page only through textContent and checked hrefs, never as HTML.
(function () {
  "use strict";
  const { prepareText, presenceSummary, MAX_TEXT } = window.ChatCore;
  const { ChatMessages } = window;
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

  const el = ChatMessages.el;
  const moderator = root.dataset.moderator === "1";
  /** What ChatMessages needs to draw a message for this reader. */
  const drawing = () => ({
    me: connection.me,
    moderator,
    lookup: (seq) => connection.timeline.get(seq),
  });

  /** Draw message seq again (its state, or the reader's own pending changes, moved). */
  function redraw(seq) {
    const li = shown.get(seq);
    const current = connection.display(seq);
    if (li && current) ChatMessages.draw(li, current, drawing());
    for (const quoting of list.querySelectorAll(`.quote[data-target="${seq}"]`)) {
      const message = quoting.closest(".message");
      const state = message && connection.display(Number(message.dataset.seq));
      if (state) ChatMessages.draw(message, state, drawing());
    }
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
  function announce(text) {
    announcer.append(el("p", null, text));
    while (announcer.childElementCount > ANNOUNCED_KEPT) announcer.firstElementChild.remove();
  }

  function announceMessages(messages) {
    // A message object, or a sentence about a change (an edit, a deletion, a reaction).
    if (messages.length > ANNOUNCE_EACH) announce(`${messages.length} new messages or changes`);
    else for (const m of messages) announce(typeof m === "string" ? m : ChatMessages.summary(m));
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
    emit("batch");
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

  const FAILED = {
    edit: "Your edit was not saved",
    delete: "The message was not deleted",
    react: "Your reaction was not saved",
  };

  /** A short sentence for a screen reader about someone else's change. */
  function changeSentence(event, state) {
    const whose = state.user === connection.me ? "your message" : `a message by ${state.user}`;
    if (event.type === "edit") return `${event.user} edited ${event.user === state.user ? "their message" : whose}.`;
    if (event.type === "delete") {
      return event.user === state.user ? `${event.user} deleted their message.` : `A moderator deleted ${whose}.`;
    }
    return `${event.user} ${event.on ? "reacted" : "took back"} ${event.emoji} ${event.on ? "to" : "on"} ${whose}.`;
  }

  const view = {
    status(state, info) {
      clearInterval(countdown);
      announceStatus(state);
      statusEl.dataset.code = info.code || ""; // the close code that led here, if any
      retry.hidden = state !== "reconnecting" && !(state === "offline" && !info.final);
      root.dataset.connection = state;
      if (state === "connecting") setStatus(state, "Connecting…");
      else if (state === "connected") {
        const first = !live;
        live = true;
        queueMicrotask(() => emit("connected", first)); // after hello's batch is drawn
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
      const li = ChatMessages.create(connection.display(message.seq) || message, drawing());
      const stale = sentEls.get(message.seq);
      if (stale) {
        stale.remove();
        sentEls.delete(message.seq);
      }
      const before = shownAfter(nextSeq);
      list.insertBefore(li, before);
      shown.set(message.seq, li);
      if (live && !loadingOlder && !mine) batch.fresh.push(message);
      for (const quoting of list.querySelectorAll(`.quote[data-target="${message.seq}"]`)) {
        redraw(Number(quoting.closest(".message").dataset.seq)); // an answer shown before it
      }
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
      page.afterOlder();
    },

    olderDone(complete) {
      if (complete && document.activeElement === older) log.focus(); // not lost to <body>
      older.hidden = complete;
      beginning.hidden = !complete;
    },

    /** An event applied to message state (live, resumed, or at a reconnect). */
    changed(event, state) {
      if (!shown.has(event.target)) return;
      for (const hook of page.changeHooks) hook(event, state);
      joinBatch();
      redraw(event.target);
      if (live && !loadingOlder && event.user !== connection.me) {
        batch.fresh.push(changeSentence(event, state));
      }
    },

    pending(entry) {
      if (entry.kind !== "message") {
        redraw(entry.target);
        return;
      }
      const li = ChatMessages.pendingItem(entry, drawing());
      pendingEls.set(entry.clientId, li);
      outboxList.append(li);
      toBottom();
    },

    settled(entry, seq, known) {
      if (entry.kind !== "message") {
        redraw(entry.target);
        return;
      }
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
      if (entry.kind !== "message") {
        connection.outbox.settle(entry.clientId); // nothing to retry: the server refused it
        redraw(entry.target);
        showNotice(`${FAILED[entry.kind]}: ${reason}`);
        return;
      }
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

    presence(users, anonymous, me) {
      presenceSummaryEl.textContent = presenceSummary(users, anonymous);
      peopleCount.textContent = String(users.length + anonymous);
      presenceList.replaceChildren(
        ...users.map((user) => {
          const li = el("li", user === me ? "me" : "");
          if (me && user !== me) {
            const name = ChatMessages.author(user, me); // opens the direct room
            name.className = "name";
            name.tabIndex = 0;
            li.append(name);
          } else {
            li.append(el("span", "name", user));
          }
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

    read(seq) {
      emit("read", seq);
    },
  };

  // What the page's other scripts wait for: "batch" (messages drawn and scrolled), "read"
  // (the server's read position here moved: seq), "connected" (first: the page's first hello).
  const hooks = { batch: [], read: [], connected: [] };
  function emit(name, ...args) {
    for (const hook of hooks[name]) hook(...args);
  }

  const connection = new window.ChatConnection({
    room: root.dataset.room,
    me: root.dataset.user || "",
    view,
    storage: window.sessionStorage,
  });
  window.chatConnection = connection; // for the curious, and for the browser tests

  // What the page's other scripts (actions.js, mentions.js) work with.
  const page = {
    connection,
    shown,
    redraw,
    announce,
    showNotice,
    reply: null, // the seq the next message answers (actions.js sets it)
    clearReply() {
      page.reply = null;
    },
    afterOlder() {},
    changeHooks: [], // (event, state) for each change applied to a shown message
    on(name, hook) {
      hooks[name].push(hook);
    },
    log,
    list,
    /** Open the direct room with user (sidebar.js's form: POST /dm/<user>/). */
    openDirect(user) {
      if (window.ChatDirect) window.ChatDirect.open(user);
    },
  };
  window.ChatRoom = page;
  presenceList.addEventListener("click", (event) => {
    const name = event.target.closest("[data-action=direct]");
    if (name) page.openDirect(name.textContent);
  });

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
      connection.send(prepared.text, page.reply);
      if (page.reply) page.clearReply();
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
  // The page's other scripts (actions.js ... reading.js) hook into the page first: a hello
  // arriving between two of them would otherwise be drawn before the later ones listen.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => connection.start(), { once: true });
  } else {
    connection.start();
  }
})();
