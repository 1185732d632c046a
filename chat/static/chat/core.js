// Pure logic of the chat client: outbox, backoff, close codes, text helpers (the room's
// event log is eventlog.js).
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

  /** A client_id the contract accepts (^[A-Za-z0-9_-]{1,64}$), random enough to be unique. */
  function newClientId() {
    const bytes = new Uint8Array(12);
    (root.crypto || globalThis.crypto).getRandomValues(bytes);
    return "c-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // What an outbox entry keeps besides its client_id, per command type.
  const COMMAND_FIELDS = {
    message: ["text", "replyTo"],
    edit: ["target", "text"],
    delete: ["target"],
    react: ["target", "emoji", "on"],
  };

  /** The wire frame of an outbox entry. */
  function commandFrame(entry) {
    const frame = { type: entry.kind, client_id: entry.clientId };
    if (entry.kind === "message") {
      frame.text = entry.text;
      if (entry.replyTo) frame.reply_to = entry.replyTo;
    } else {
      frame.target = entry.target;
      if (entry.kind === "edit") frame.text = entry.text;
      if (entry.kind === "react") Object.assign(frame, { emoji: entry.emoji, on: entry.on });
    }
    return frame;
  }

  function makeEntry(fields, clientId) {
    const kind = COMMAND_FIELDS[fields.kind] ? fields.kind : "message";
    const entry = { clientId, kind, state: "queued" };
    for (const name of COMMAND_FIELDS[kind]) {
      entry[name] = fields[name] === undefined ? null : fields[name];
    }
    return entry;
  }

  /**
   * Commands not yet acknowledged (messages, edits, deletions, reactions), oldest first.
   * Each keeps its client_id, so sending it again after a reconnect is safe: the server
   * stores a client_id once. States: queued (to send), inflight (sent on this socket),
   * failed (server refused it).
   */
  class Outbox {
    constructor(entries = []) {
      this.entries = entries
        .filter((e) => e && typeof e.clientId === "string")
        .map((e) => makeEntry(e, e.clientId));
    }

    /** Queue a message (text, or {text, replyTo}). */
    add(text, clientId = newClientId()) {
      const fields = typeof text === "string" ? { text } : text;
      return this.command({ ...fields, kind: "message" }, clientId);
    }

    /** Queue any command: {kind: "message"|"edit"|"delete"|"react", ...its fields}. */
    command(fields, clientId = newClientId()) {
      const entry = makeEntry(fields, clientId);
      this.entries.push(entry);
      return entry;
    }

    /** The entries not failed that change message target (edits, deletions, reactions). */
    about(target) {
      return this.entries.filter(
        (e) => e.kind !== "message" && e.target === target && e.state !== "failed",
      );
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

    /** The oldest entry in flight: the one an error frame about a command refers to. */
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

    /** What survives a page reload (sessionStorage): unsent commands with their client_ids. */
    toJSON() {
      return this.entries
        .filter((e) => e.state !== "failed")
        .map(({ state, ...kept }) => kept);
    }
  }

  /** An emoji the server may take: 1 to 8 code points, no white space, no control character. */
  function validEmoji(value) {
    const n = codePoints(value);
    return n >= 1 && n <= 8 && !/[\s\p{Cc}]/u.test(value) && /[\p{Extended_Pictographic}\u20e3]/u.test(value);
  }

  /**
   * Split text into [{text}] and [{text, mention}] parts: each `@name` of a name in mentions
   * (the `@` at the start or after a character that is not a letter, digit or underscore;
   * the longest name first, so that @ann.lee is not read as @ann).
   */
  function mentionParts(text, mentions) {
    if (!mentions || !mentions.length || !text.includes("@")) return [{ text }];
    const names = [...mentions].sort((a, b) => b.length - a.length);
    const parts = [];
    let last = 0;
    for (let i = text.indexOf("@"); i >= 0; i = text.indexOf("@", i + 1)) {
      if (i < last || (i > 0 && /[\p{L}\p{N}_]/u.test(text[i - 1]))) continue;
      const name = names.find((n) => text.startsWith(n, i + 1) && !/[\p{L}\p{N}_]/u.test(text[i + 1 + n.length] || ""));
      if (!name) continue;
      if (i > last) parts.push({ text: text.slice(last, i) });
      parts.push({ text: "@" + name, mention: name });
      last = i + 1 + name.length;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
  }

  /** The `@word` being typed just before the caret: {start, query} or null. */
  function mentionQuery(value, caret) {
    const before = value.slice(0, caret);
    const match = /(?:^|[^\p{L}\p{N}_])@([\w.+-]{0,150})$/u.exec(before);
    if (!match) return null;
    return { start: caret - match[1].length - 1, query: match[1] };
  }

  /** Up to limit names from names that start with query (case-insensitive), sorted, me left out. */
  function completeNames(names, query, me, limit = 8) {
    const q = query.toLowerCase();
    return [...new Set(names)]
      .filter((n) => n && n !== me && n.toLowerCase().startsWith(q))
      .sort((a, b) => a.localeCompare(b))
      .slice(0, limit);
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
    Outbox,
    commandFrame,
    validEmoji,
    mentionParts,
    mentionQuery,
    completeNames,
    TypingTracker,
    newClientId,
    codePoints,
    prepareText,
    linkParts,
    presenceSummary,
  };
})(typeof window !== "undefined" ? window : globalThis);
