// ChatConnection: one room's WebSocket, kept alive through every fault the server survives.
// Speaks the wire contract (docs/protocol.md) and tells a view what to show; it touches no
// DOM itself. Exposed as window.ChatConnection.
(function (root) {
  "use strict";
  const { Backoff, Outbox, Timeline, TypingTracker, closeAction, commandFrame } = root.ChatCore;

  const MAX_IN_FLIGHT = 4; // fewer than the 5 refusals after which the server closes (4429)
  const HELLO_TIMEOUT = 10000; // a socket that gives no hello by then is closed and retried
  const PING_EVERY = 25000; // keeps idle sockets open through proxies; detects dead ones
  const STABLE_AFTER = 10000; // a connection that lived this long resets the backoff
  const TYPING_EVERY = 2000;
  const OLDER_PAGE = 50;
  // Errors that refuse a command for good: sending it again would be refused again.
  const REFUSALS = new Set([
    "empty", "too_long", "auth_required", "bad_field", "not_found", "forbidden",
  ]);

  class ChatConnection {
    /**
     * room: the room name; me: the user name ("" when anonymous); view: an object whose
     * methods (status, message, changed, pending, settled, failed, presence, typing, older,
     * olderDone, notice, and read if present) are called as things happen; storage: sessionStorage or null (keeps the outbox);
     * timing: {helloTimeout, pingEvery} in ms, to override the defaults.
     */
    constructor({ room, me, view, storage = null, location = root.location, timing = {} }) {
      this.room = room;
      this.me = me;
      this.view = view;
      this.storage = storage;
      this.location = location;
      this.timeline = new Timeline();
      this.outbox = new Outbox(this._loadOutbox());
      this.typingUsers = new TypingTracker();
      this.backoff = new Backoff();
      this.socket = null;
      this.greeted = false; // this socket has sent hello
      this.everGreeted = false; // some socket has: reconnect with ?since=
      this.olderComplete = false;
      this.loadingOlder = false;
      this.resuming = false;
      this.resumeMax = 0;
      this.pausedUntil = 0;
      this.stopped = false;
      this.timers = {};
      this.lastTyping = 0;
      this.lastFrameAt = 0;
      this.openedAt = 0;
      this.readSeq = null; // the server's read position of this reader here (hello.read)
      this.timing = { helloTimeout: HELLO_TIMEOUT, pingEvery: PING_EVERY, ...timing };
    }

    start() {
      for (const entry of this.outbox.entries) this.view.pending(entry);
      this._connect();
    }

    // sending -------------------------------------------------------------------------

    /** Queue text (already prepared), optionally answering message replyTo, and send it
     * when the socket is ready. */
    send(text, replyTo = null) {
      return this._queue({ kind: "message", text, replyTo });
    }

    /** Give own message target the text (already prepared). */
    edit(target, text) {
      return this._queue({ kind: "edit", target, text });
    }

    /** Delete message target (own, or any as a moderator). */
    remove(target) {
      return this._queue({ kind: "delete", target });
    }

    /** Add (on) or take back (!on) the user's reaction emoji to message target. */
    react(target, emoji, on) {
      return this._queue({ kind: "react", target, emoji, on });
    }

    /** The message state with this user's unacknowledged changes on top (ChatCore.display). */
    display(seq) {
      const state = this.timeline.get(seq);
      return state ? root.ChatCore.display(state, this.outbox.about(seq), this.me) : null;
    }

    _queue(fields) {
      const entry = this.outbox.command(fields);
      this._saveOutbox();
      this.view.pending(entry);
      this._flush();
      return entry;
    }

    typing() {
      const now = Date.now();
      if (now - this.lastTyping < TYPING_EVERY || !this._ready()) return;
      this.lastTyping = now;
      this._sendFrame({ type: "typing" });
    }

    /** Ask for the page of messages before the oldest shown (scrollback). */
    loadOlder() {
      if (this.olderComplete || this.loadingOlder || !this._ready()) return false;
      this.loadingOlder = true;
      const frame = { type: "history", limit: OLDER_PAGE };
      if (this.timeline.oldest !== null) frame.before = this.timeline.oldest;
      this._sendFrame(frame);
      return true;
    }

    /** Tell the server the reader has seen the room up to seq (logged in, and a server whose
     * hello gave a read position; no ack). */
    markRead(seq) {
      if (!this.me || this.readSeq === null || !this._ready()) return false; // protocol 2 only
      this._sendFrame({ type: "read", seq });
      return true;
    }

    /** Skip the rest of a backoff wait (the "Retry now" button, or the browser came online). */
    retryNow() {
      if (this.stopped || (this.socket && this.socket.readyState <= 1)) return;
      clearTimeout(this.timers.retry);
      this._connect();
    }

    /** The page is going away: close without reconnecting. */
    close() {
      this.stopped = true;
      this._clearTimers();
      if (this.socket) this.socket.close(1000);
    }

    // the socket --------------------------------------------------------------------------

    _url() {
      const scheme = this.location.protocol === "https:" ? "wss:" : "ws:";
      const since = this.everGreeted ? `?since=${this.timeline.cursor}` : "";
      return `${scheme}//${this.location.host}/ws/chat/${encodeURIComponent(this.room)}/${since}`;
    }

    _connect() {
      this._clearTimers();
      this.greeted = false;
      this.view.status("connecting", {});
      const socket = new WebSocket(this._url());
      this.socket = socket;
      socket.onmessage = (event) => this._onData(socket, event.data);
      socket.onclose = (event) => this._onClose(socket, event.code);
      this.timers.hello = setTimeout(() => {
        if (this.socket === socket && !this.greeted) this._abandon(socket);
      }, this.timing.helloTimeout);
    }

    /** Give up on a socket that stopped answering; a dead one may take long to close. */
    _abandon(socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(4000, "no answer");
      this._onClose(socket, 1006);
    }

    _ready() {
      return this.greeted && this.socket && this.socket.readyState === WebSocket.OPEN;
    }

    _sendFrame(frame) {
      this.socket.send(JSON.stringify(frame));
    }

    _onData(socket, data) {
      if (socket !== this.socket) return;
      let frame;
      try {
        frame = JSON.parse(data);
      } catch (_) {
        return;
      }
      this.lastFrameAt = Date.now();
      const handler = this["_on_" + frame.type];
      if (typeof handler === "function") handler.call(this, frame);
    }

    _onClose(socket, code) {
      if (socket !== this.socket) return;
      this.socket = null;
      this._clearTimers();
      this.greeted = false;
      this.resuming = false;
      this.loadingOlder = false;
      const action = closeAction(code);
      // The contract: a frame the server found too large is not sent again.
      if (action.tooLarge) this._failHead("Too large for the server: not sent.");
      this.outbox.requeue();
      this.view.typing("");
      if (this.stopped) return;
      if (action.stop) {
        this.stopped = true;
        this.view.status("offline", { reason: action.reason, code, final: true });
        return;
      }
      if (this.openedAt && Date.now() - this.openedAt > STABLE_AFTER) this.backoff.reset();
      this.openedAt = 0;
      const delay = this.backoff.next(action.minDelay);
      const navigatorOffline = root.navigator && root.navigator.onLine === false;
      if (navigatorOffline) {
        // Nothing to gain by trying; the `online` event calls retryNow().
        this.view.status("offline", { reason: "Your device is offline.", code });
        return;
      }
      this.view.status("reconnecting", { reason: action.reason, code, at: Date.now() + delay });
      this.timers.retry = setTimeout(() => this._connect(), delay);
    }

    _clearTimers() {
      for (const name of Object.keys(this.timers)) {
        clearTimeout(this.timers[name]);
        clearInterval(this.timers[name]);
      }
      this.timers = {};
    }

    _heartbeat() {
      this.timers.ping = setInterval(() => {
        if (!this._ready()) return;
        if (Date.now() - this.lastFrameAt > 2 * this.timing.pingEvery) {
          this._abandon(this.socket);
        } else {
          this._sendFrame({ type: "ping" });
        }
      }, this.timing.pingEvery);
    }

    // frames from the server --------------------------------------------------------------

    _on_hello(frame) {
      clearTimeout(this.timers.hello);
      const resumed = this.everGreeted;
      this.greeted = true;
      this.everGreeted = true;
      this.openedAt = Date.now();
      if (frame.user !== undefined) this.me = frame.user || "";
      // The reader's read position (protocol 2; null for a guest): read() reports it moving.
      if (Number.isInteger(frame.read)) this._readMoved(frame.read);
      this._accept(frame.history || []);
      if (!resumed) {
        this.olderComplete = Boolean(frame.complete);
        this._caughtUp(frame.seq);
        this.view.olderDone(this.olderComplete);
      } else if (frame.complete) {
        this._caughtUp(frame.seq);
      } else {
        // More than one page was missed: hello held the first part, resume gets the rest.
        const history = frame.history || [];
        if (history.length) this._caughtUp(history[history.length - 1].seq);
      }
      this.view.status("connected", { me: this.me });
      this._heartbeat();
      if (!frame.complete && resumed) this._resume();
      else this._checkGap();
      this._flush();
    }

    _on_message(frame) {
      this._accept([frame]);
      this._checkGap();
    }

    _on_edit(frame) {
      this._on_message(frame);
    }

    _on_delete(frame) {
      this._on_message(frame);
    }

    _on_reaction(frame) {
      this._on_message(frame);
    }

    _on_ack(frame) {
      const entry = frame.client_id ? this.outbox.settle(frame.client_id) : null;
      if (!entry) return;
      this._saveOutbox();
      // Shown as sent now; the message object itself replaces it when it arrives (or has).
      const known =
        frame.seq === null || this.timeline.has(frame.seq) || frame.seq <= this.timeline.cursor;
      this.view.settled(entry, frame.seq, known);
      this._flush();
    }

    _on_history(frame) {
      this.loadingOlder = false;
      this.olderComplete = Boolean(frame.complete);
      const fresh = (frame.messages || []).filter(
        (m) => m.type === "message" && this.timeline.accept(m).isNew,
      );
      this.view.older(fresh, this.olderComplete);
    }

    _on_resumed(frame) {
      this.resuming = false;
      this._caughtUp(frame.complete ? frame.seq : this.resumeMax);
      if (!frame.complete) this._resume();
      else this._checkGap();
    }

    _on_read(frame) {
      if (frame.room === undefined || frame.room === this.room) this._readMoved(frame.seq);
    }

    _readMoved(seq) {
      if (!Number.isInteger(seq) || seq < 0) return;
      this.readSeq = Math.max(this.readSeq === null ? 0 : this.readSeq, seq);
      if (typeof this.view.read === "function") this.view.read(this.readSeq);
    }

    _on_presence(frame) {
      this.view.presence(frame.users || [], frame.anonymous || 0, this.me);
    }

    _on_typing(frame) {
      if (!frame.user || frame.user === this.me) return;
      this.typingUsers.add(frame.user, Date.now());
      this._showTyping();
    }

    _on_error(frame) {
      const code = frame.code;
      if (code === "rate_limited" || code === "unavailable") {
        // unavailable: the server stored nothing and cannot take commands for a moment.
        const wait = Math.max(1, Number(frame.retry_after) || 1) * 1000;
        this.outbox.requeue(); // everything in flight after it is refused as well
        this.pausedUntil = Date.now() + wait;
        const seconds = Math.ceil(wait / 1000);
        this.view.notice(
          code === "unavailable"
            ? `The server cannot take messages right now: trying again in ${seconds} s.`
            : `You are sending too fast: waiting ${seconds} s.`,
        );
        clearTimeout(this.timers.paused);
        // The refusal may be of a read (resume, history) rather than a message: whatever
        // was asked is asked again once the wait is over.
        const resume = this.resuming;
        const older = this.loadingOlder;
        this.timers.paused = setTimeout(() => {
          if (resume && this.resuming) this._resume();
          if (older && this.loadingOlder) {
            this.loadingOlder = false;
            this.loadOlder();
          }
          this._flush();
        }, wait);
      } else if (REFUSALS.has(code)) {
        // About the oldest command in flight: the server answers commands in order.
        this._failHead(frame.detail || `Refused by the server (${code}).`);
      } else {
        this.view.notice(frame.detail || `Server error: ${code}`);
      }
    }

    // seq bookkeeping ---------------------------------------------------------------------

    /** Events in the order they came: messages are shown, changes applied in seq order. */
    _accept(events) {
      for (const event of events) {
        const { isNew, applied } = this.timeline.accept(event);
        if (this.resuming) this.resumeMax = Math.max(this.resumeMax, event.seq);
        if (!isNew) continue;
        const isMessage = !event.type || event.type === "message";
        if (isMessage) this._show(this.timeline.get(event.seq));
        this._changed(applied);
      }
      if (events.length) this._showTyping();
    }

    _show(message) {
      if (message.client_id && message.user === this.me) {
        const entry = this.outbox.settle(message.client_id);
        if (entry) {
          this._saveOutbox();
          this.view.settled(entry, message.seq, true);
        }
      }
      this.typingUsers.remove(message.user);
      this.view.message(message, this.timeline.nextAfter(message.seq));
    }

    _changed(applied) {
      for (const event of applied) this.view.changed(event, this.timeline.get(event.target));
    }

    _caughtUp(seq) {
      this._changed(this.timeline.caughtUp(seq));
    }

    _checkGap() {
      if (this.timeline.hasGap() && !this.resuming) this._resume();
    }

    _resume() {
      if (!this._ready()) return;
      this.resuming = true;
      this.resumeMax = this.timeline.cursor;
      this._sendFrame({ type: "resume", since: this.timeline.cursor });
    }

    _flush() {
      if (!this._ready() || Date.now() < this.pausedUntil) return;
      for (const entry of this.outbox.take(MAX_IN_FLIGHT)) this._sendFrame(commandFrame(entry));
    }

    _failHead(reason) {
      const entry = this.outbox.head();
      if (!entry) return;
      this.outbox.fail(entry);
      this._saveOutbox();
      this.view.failed(entry, reason);
    }

    _showTyping() {
      this.view.typing(this.typingUsers.describe(Date.now()));
      clearTimeout(this.timers.typing);
      if (this.typingUsers.users(Date.now()).length) {
        this.timers.typing = setTimeout(() => this._showTyping(), 500);
      }
    }

    // the outbox survives a reload of the page (same tab) ---------------------------------

    _storageKey() {
      return `chat-outbox:${this.room}:${this.me}`;
    }

    _loadOutbox() {
      if (!this.storage || !this.me) return [];
      try {
        return JSON.parse(this.storage.getItem(this._storageKey()) || "[]");
      } catch (_) {
        return [];
      }
    }

    _saveOutbox() {
      if (!this.storage || !this.me) return;
      try {
        const entries = this.outbox.toJSON();
        if (entries.length) this.storage.setItem(this._storageKey(), JSON.stringify(entries));
        else this.storage.removeItem(this._storageKey());
      } catch (_) {
        // storage full or disabled: the outbox still lives in memory
      }
    }
  }

  root.ChatConnection = ChatConnection;
})(window);
