// Pure logic of the chat client: seq order, outbox, backoff, close codes, text helpers.
// No DOM and no sockets here, so every rule can be exercised on its own (see
// tests/browser/test_core.py). Exposed as window.ChatCore.
(function (root) {
  "use strict";

  const MAX_TEXT = 4000;

  // What the contract says a client should do after each close code.
  const STOP = {
    1000: "The server closed the connection.",
    4401: "This room is private: log in to read it.",
    4403: "This room is private and you are not a member.",
    4404: "This room name is not valid.",
  };
  const RECONNECT = {
    1006: "The connection broke.",
    1009: "A message was too large for the server.",
    4001: "The server is restarting.",
    4009: "A message was too large for the server.",
    4012: "The server lost its backend and is restarting the service.",
    4013: "The server is not ready yet.",
    4429: "Too many messages: pausing before reconnecting.",
  };

  /** {stop, reason, minDelay, tooLarge} for a close code; unknown codes reconnect. */
  function closeAction(code) {
    if (code in STOP) return { stop: true, reason: STOP[code], minDelay: 0, tooLarge: false };
    return {
      stop: false,
      reason: RECONNECT[code] || `The connection closed (code ${code}).`,
      minDelay: code === 4429 ? 10000 : 0,
      tooLarge: code === 1009 || code === 4009,
    };
  }

  /** Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^n)). */
  class Backoff {
    constructor({ base = 500, cap = 15000, random = Math.random } = {}) {
      this.base = base;
      this.cap = cap;
      this.random = random;
      this.attempt = 0;
    }

    next(minDelay = 0) {
      const ceiling = Math.min(this.cap, this.base * 2 ** this.attempt);
      this.attempt = Math.min(this.attempt + 1, 30);
      return Math.max(minDelay, Math.floor(this.random() * ceiling));
    }

    reset() {
      this.attempt = 0;
    }
  }

  /**
   * The room's messages by seq: each shown once, in order. `cursor` is the seq up to
   * which nothing is missing (hidden messages count as known); a live message past
   * cursor + 1 is a gap, which the connection fills with `resume`.
   */
  class Timeline {
    constructor() {
      this.cursor = 0;
      this.messages = new Map(); // seq -> message object
      this.hidden = new Set();
      this.seqs = []; // sorted seqs of this.messages
    }

    has(seq) {
      return this.messages.has(seq);
    }

    get oldest() {
      return this.seqs.length ? this.seqs[0] : null;
    }

    get newest() {
      return this.seqs.length ? this.seqs[this.seqs.length - 1] : 0;
    }

    /** Store a message; {isNew, gap}. A seq seen (or hidden) before is not new. */
    accept(message) {
      const seq = message.seq;
      if (!Number.isSafeInteger(seq) || seq < 1 || this.messages.has(seq) || this.hidden.has(seq)) {
        return { isNew: false, gap: this.hasGap() };
      }
      this.messages.set(seq, message);
      this.seqs.splice(this._index(seq), 0, seq);
      this._advance();
      return { isNew: true, gap: this.hasGap() };
    }

    /** Everything up to seq is known (hello or `resumed` said so). */
    caughtUp(seq) {
      if (seq > this.cursor) this.cursor = seq;
      this._advance();
    }

    /** True when a message beyond cursor + 1 arrived: something in between is missing. */
    hasGap() {
      return this.newest > this.cursor;
    }

    /** A moderator hid seq: forget it, and never accept it again. */
    hide(seq) {
      this.hidden.add(seq);
      if (this.messages.delete(seq)) this.seqs.splice(this._index(seq), 1);
      this._advance();
    }

    /** The seq shown right after seq (null when seq would be the last). */
    nextAfter(seq) {
      const i = this._index(seq + 1);
      return i < this.seqs.length ? this.seqs[i] : null;
    }

    _advance() {
      while (this.messages.has(this.cursor + 1) || this.hidden.has(this.cursor + 1)) this.cursor++;
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

  /** A client_id the contract accepts (^[A-Za-z0-9_-]{1,64}$), random enough to be unique. */
  function newClientId() {
    const bytes = new Uint8Array(12);
    (root.crypto || globalThis.crypto).getRandomValues(bytes);
    return "c-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /**
   * Messages not yet acknowledged, oldest first. Each keeps its client_id, so sending it
   * again after a reconnect is safe: the server stores a client_id once.
   * States: queued (to send), inflight (sent on this socket), failed (server refused it).
   */
  class Outbox {
    constructor(entries = []) {
      this.entries = entries.map((e) => ({ clientId: e.clientId, text: e.text, state: "queued" }));
    }

    add(text, clientId = newClientId()) {
      const entry = { clientId, text, state: "queued" };
      this.entries.push(entry);
      return entry;
    }

    /** Mark up to `limit` in flight in total; returns the entries to send now. */
    take(limit) {
      let inflight = this.entries.filter((e) => e.state === "inflight").length;
      const out = [];
      for (const entry of this.entries) {
        if (inflight >= limit) break;
        if (entry.state === "queued") {
          entry.state = "inflight";
          inflight++;
          out.push(entry);
        }
      }
      return out;
    }

    /** Remove the entry with clientId (acked, or its message arrived); returns it or null. */
    settle(clientId) {
      const i = this.entries.findIndex((e) => e.clientId === clientId);
      return i < 0 ? null : this.entries.splice(i, 1)[0];
    }

    /** The oldest entry in flight: the one an error frame about a message refers to. */
    head() {
      return this.entries.find((e) => e.state === "inflight") || null;
    }

    /** The socket closed: whatever was in flight is sent again on the next one. */
    requeue() {
      for (const entry of this.entries) if (entry.state === "inflight") entry.state = "queued";
    }

    /** The server refused the entry for good (too long, not allowed): never send it again. */
    fail(entry) {
      entry.state = "failed";
    }

    get waiting() {
      return this.entries.filter((e) => e.state !== "failed").length;
    }

    /** What survives a page reload (sessionStorage): unsent texts with their client_ids. */
    toJSON() {
      return this.entries
        .filter((e) => e.state !== "failed")
        .map((e) => ({ clientId: e.clientId, text: e.text }));
    }
  }

  /** Who is typing: a notice lasts `ttl` ms after the last `typing` frame of that user. */
  class TypingTracker {
    constructor(ttl = 3500) {
      this.ttl = ttl;
      this.until = new Map();
    }

    add(user, now) {
      this.until.set(user, now + this.ttl);
    }

    remove(user) {
      this.until.delete(user);
    }

    users(now) {
      for (const [user, until] of this.until) if (until <= now) this.until.delete(user);
      return [...this.until.keys()].sort();
    }

    describe(now) {
      const users = this.users(now);
      if (users.length === 0) return "";
      if (users.length === 1) return `${users[0]} is typing…`;
      if (users.length === 2) return `${users[0]} and ${users[1]} are typing…`;
      return `${users.length} people are typing…`;
    }
  }

  /** The number of Unicode code points, as the server counts the 4,000 limit. */
  function codePoints(text) {
    let n = 0;
    for (const _ of text) n++;
    return n;
  }

  /** {text, length, error}: the text as it will be stored, or why it cannot be sent. */
  function prepareText(raw) {
    const text = raw.trim();
    const length = codePoints(text);
    let error = null;
    if (length === 0) error = "empty";
    else if (length > MAX_TEXT) error = "too_long";
    return { text, length, error };
  }

  const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;
  const TRAILING = /[.,;:!?'*]+$/;

  /**
   * Split text into [{text}] and [{text, href}] parts: http(s) links become clickable, the
   * rest stays plain text. The caller renders parts with textContent and href only.
   */
  function linkParts(text) {
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(URL_RE)) {
      let candidate = match[0].replace(TRAILING, "");
      if (candidate.endsWith(")") && !candidate.includes("(")) candidate = candidate.slice(0, -1);
      let href = null;
      try {
        const url = new URL(candidate);
        if (url.protocol === "http:" || url.protocol === "https:") href = url.href;
      } catch (_) {
        href = null;
      }
      if (!href) continue;
      if (match.index > last) parts.push({ text: text.slice(last, match.index) });
      parts.push({ text: candidate, href });
      last = match.index + candidate.length;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
  }

  /** "alice, bob and 2 guests" style summary of a presence frame. */
  function presenceSummary(users, anonymous) {
    const n = users.length + anonymous;
    if (n === 0) return "Nobody is here.";
    const guests = anonymous === 1 ? "1 guest" : `${anonymous} guests`;
    return `${n} online` + (anonymous ? ` (${guests} reading)` : "");
  }

  root.ChatCore = {
    MAX_TEXT,
    closeAction,
    Backoff,
    Timeline,
    Outbox,
    TypingTracker,
    newClientId,
    codePoints,
    prepareText,
    linkParts,
    presenceSummary,
  };
})(typeof window !== "undefined" ? window : globalThis);
