// The room's event log as the client keeps it: pure logic, no DOM and no sockets, so every
// rule can be exercised on its own (tests/browser/test_core.py). Adds Timeline,
// messageState, applyEvent and display to window.ChatCore (core.js, loaded first).
(function (root) {
  "use strict";

  const MAX_ORPHANS = 1000;

  /** A message object as the client keeps it: its current state, fields filled in. */
  function messageState(m) {
    const reactions = {};
    for (const [emoji, users] of Object.entries(m.reactions || {})) {
      if (Array.isArray(users) && users.length) reactions[emoji] = [...users].sort();
    }
    return {
      ...m,
      type: "message",
      text: m.deleted ? "" : m.text || "",
      reply_to: m.reply_to || null,
      mentions: m.deleted ? [] : [...(m.mentions || [])],
      edited: m.edited || null,
      deleted: Boolean(m.deleted),
      reactions: m.deleted ? {} : reactions,
    };
  }

  /** Apply an edit, delete or reaction event to a message state (in place). */
  function applyEvent(state, event) {
    if (event.type === "edit" && !state.deleted) {
      state.text = event.text;
      state.mentions = [...(event.mentions || [])];
      state.edited = event.ts;
    } else if (event.type === "delete") {
      Object.assign(state, { deleted: true, text: "", mentions: [], reactions: {} });
    } else if (event.type === "reaction" && !state.deleted) {
      const users = new Set(state.reactions[event.emoji] || []);
      if (event.on) users.add(event.user);
      else users.delete(event.user);
      if (users.size) state.reactions[event.emoji] = [...users].sort();
      else delete state.reactions[event.emoji];
    }
  }

  /**
   * The room's event log as the client knows it. Messages are kept by seq, each shown once
   * and in place; edits, deletions and reactions change the state of their target, applied
   * strictly in seq order (an event beyond a gap waits until the gap is filled: two
   * reactions or two edits applied out of order would end in the wrong state). `cursor` is
   * the seq up to which nothing is missing; anything past cursor + 1 is a gap, which the
   * connection fills with `resume`.
   */
  class Timeline {
    constructor() {
      this.cursor = 0;
      this.messages = new Map(); // seq -> message state
      this.held = new Map(); // seq -> event beyond the cursor, not applied yet
      this.seqs = []; // sorted seqs of this.messages
      this.orphans = []; // events about messages not loaded yet, in seq order
    }

    has(seq) {
      return this.messages.has(seq);
    }

    get(seq) {
      return this.messages.get(seq) || null;
    }

    get oldest() {
      return this.seqs.length ? this.seqs[0] : null;
    }

    get newest() {
      let newest = this.seqs.length ? this.seqs[this.seqs.length - 1] : 0;
      for (const seq of this.held.keys()) newest = Math.max(newest, seq);
      return newest;
    }

    /**
     * Take one event (a message object when `type` is "message" or absent);
     * {isNew, gap, applied}: applied lists the events applied to a message by this call
     * (this one, and held ones it unblocked), in seq order.
     */
    accept(event) {
      const seq = event.seq;
      const applied = [];
      const isMessage = !event.type || event.type === "message";
      let isNew = Number.isSafeInteger(seq) && seq >= 1;
      if (isNew && isMessage) isNew = !this.messages.has(seq) && !this.held.has(seq);
      else if (isNew) isNew = seq > this.cursor && !this.messages.has(seq) && !this.held.has(seq);
      if (!isNew) return { isNew, gap: this.hasGap(), applied };
      if (isMessage) {
        const state = messageState(event);
        this._adopt(state);
        this.messages.set(seq, state);
        this.seqs.splice(this._index(seq), 0, seq);
      } else {
        this.held.set(seq, event);
      }
      this._advance(applied);
      return { isNew, gap: this.hasGap(), applied };
    }

    /** Everything up to seq is known (hello or `resumed` said so): held events up to it apply. */
    caughtUp(seq, applied = []) {
      for (const held of [...this.held.keys()].sort((a, b) => a - b)) {
        if (held <= seq) this._apply(held, applied);
      }
      if (seq > this.cursor) this.cursor = seq;
      this._advance(applied);
      return applied;
    }

    /** True when an event beyond cursor + 1 arrived: something in between is missing. */
    hasGap() {
      return this.newest > this.cursor;
    }

    /** The seq shown right after seq (null when seq would be the last). */
    nextAfter(seq) {
      const i = this._index(seq + 1);
      return i < this.seqs.length ? this.seqs[i] : null;
    }

    /** The newest message of user that can still be edited, or null. */
    lastOf(user) {
      for (let i = this.seqs.length - 1; i >= 0; i--) {
        const m = this.messages.get(this.seqs[i]);
        if (m.user === user && !m.deleted) return m;
      }
      return null;
    }

    _apply(seq, applied) {
      const event = this.held.get(seq);
      this.held.delete(seq);
      const target = this.messages.get(event.target);
      if (target) {
        applyEvent(target, event);
        applied.push(event);
      } else {
        this._orphan(event);
      }
    }

    /**
     * An event about a message not loaded yet (further up than scrollback reached). A
     * history page read before it was stored may arrive after it, so it is kept and applied
     * again, in seq order, to the message when a page brings it: every event sets its value
     * outright (the text, deleted, one user's reaction on or off), so applying again in order
     * events the page already holds ends in the same state.
     */
    _orphan(event) {
      this.orphans.push(event);
      if (this.orphans.length > MAX_ORPHANS) this.orphans.shift();
    }

    _adopt(state) {
      const mine = this.orphans.filter((e) => e.target === state.seq);
      if (!mine.length) return;
      for (const event of mine) applyEvent(state, event);
      this.orphans = this.orphans.filter((e) => e.target !== state.seq);
    }

    _advance(applied) {
      for (;;) {
        const next = this.cursor + 1;
        if (this.held.has(next)) this._apply(next, applied);
        else if (!this.messages.has(next)) break;
        this.cursor = next;
      }
    }

    _index(seq) {
      // first index whose seq is >= seq (binary search)
      let low = 0;
      let high = this.seqs.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (this.seqs[mid] < seq) low = mid + 1;
        else high = mid;
      }
      return low;
    }
  }

  /**
   * What a message shows: its state with the user's own unacknowledged changes on top
   * (an edit's text, a deletion, reactions added or removed), and which are pending.
   */
  function display(state, entries, me) {
    const shown = { ...state, reactions: {}, pending: { edit: false, delete: false, react: false } };
    for (const [emoji, users] of Object.entries(state.reactions)) shown.reactions[emoji] = [...users];
    for (const entry of entries) {
      if (entry.kind === "edit" && !shown.deleted) {
        shown.text = entry.text;
        shown.pending.edit = true;
      } else if (entry.kind === "delete") {
        shown.pending.delete = true;
      } else if (entry.kind === "react" && !shown.deleted) {
        const users = new Set(shown.reactions[entry.emoji] || []);
        if (entry.on) users.add(me);
        else users.delete(me);
        if (users.size) shown.reactions[entry.emoji] = [...users].sort();
        else delete shown.reactions[entry.emoji];
        shown.pending.react = true;
      }
    }
    return shown;
  }

  Object.assign(root.ChatCore, { Timeline, messageState, applyEvent, display });
})(typeof window !== "undefined" ? window : globalThis);
