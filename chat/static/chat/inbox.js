// Pure logic of the inbox (the followed rooms with their unread and mention counts), and of
// the read position a room page reports. No DOM and no sockets here (sidebar.js draws and
// connects; room pages use ReadPosition), so every rule can be exercised on its own (see
// tests/browser/test_inbox_core.py). Exposed as window.ChatInbox.
(function (root) {
  "use strict";

  const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  /** "3 unread, 1 mention" (what a screen reader hears of a badge); "" when nothing is new. */
  function describeCounts(unread, mentions) {
    const parts = [];
    if (unread) parts.push(count(unread, "unread", "unread"));
    if (mentions) parts.push(count(mentions, "mention", "mentions"));
    return parts.join(", ");
  }

  const number = (value) => (Number.isInteger(value) && value >= 0 ? value : 0);

  /**
   * The followed rooms, most recent activity first, as the inbox socket reports them:
   * apply(frame) takes an `inbox`, `unread`, `read` or `unfollow` frame and returns the names
   * of the rooms it changed (null for a whole new list). Frames of other types change nothing.
   */
  class State {
    constructor() {
      this.rooms = new Map(); // name -> {room, private, seq, read, unread, mentions, title}
      this.order = []; // names, most recent activity first
      this.loaded = false;
    }

    apply(frame) {
      if (!frame || typeof frame !== "object") return [];
      const handler = this["_on_" + frame.type];
      return typeof handler === "function" ? handler.call(this, frame) : [];
    }

    _on_inbox(frame) {
      this.rooms.clear();
      this.order = [];
      for (const item of Array.isArray(frame.rooms) ? frame.rooms : []) {
        if (!item || typeof item.room !== "string" || this.rooms.has(item.room)) continue;
        this.rooms.set(item.room, this._entry(item.room, item));
        this.order.push(item.room);
      }
      this.loaded = true;
      return null;
    }

    _on_unread(frame) {
      if (typeof frame.room !== "string") return [];
      const known = this.rooms.get(frame.room);
      // A newly followed room's frame may name it (title, private); later ones need not.
      const entry = this._entry(frame.room, {
        ...(known || {}),
        ...frame,
        title: typeof frame.title === "string" && frame.title ? frame.title : known && known.title,
        private: typeof frame.private === "boolean" ? frame.private : Boolean(known && known.private),
      });
      this.rooms.set(frame.room, entry);
      // Activity (a later seq) moves the room to the top; reading leaves it in its place.
      if (!known || entry.seq > known.seq) this._toTop(frame.room);
      return [frame.room];
    }

    _on_read(frame) {
      const entry = this.rooms.get(frame.room);
      if (!entry) return [];
      entry.read = Math.max(entry.read, number(frame.seq));
      return [frame.room];
    }

    _on_unfollow(frame) {
      if (!this.rooms.delete(frame.room)) return [];
      this.order = this.order.filter((name) => name !== frame.room);
      return [frame.room];
    }

    _entry(name, item) {
      return {
        room: name,
        private: Boolean(item.private),
        seq: number(item.seq),
        read: number(item.read),
        unread: number(item.unread),
        mentions: number(item.mentions),
        title: typeof item.title === "string" && item.title ? item.title : name,
      };
    }

    _toTop(name) {
      this.order = [name, ...this.order.filter((n) => n !== name)];
    }

    /** The rooms in their order. */
    list() {
      return this.order.map((name) => this.rooms.get(name));
    }

    get(name) {
      return this.rooms.get(name) || null;
    }

    /** The room's name as a reader sees it: "#lobby", or the other user's name. */
    label(name) {
      const entry = this.rooms.get(name);
      return entry && entry.title !== name ? entry.title : "#" + name;
    }

    /** {unread, mentions, rooms}: the sums over all rooms, and how many rooms have news. */
    totals() {
      let unread = 0;
      let mentions = 0;
      let rooms = 0;
      for (const entry of this.rooms.values()) {
        unread += entry.unread;
        mentions += entry.mentions;
        if (entry.unread) rooms++;
      }
      return { unread, mentions, rooms };
    }
  }

  /** The browser notification for a `mention` frame: {title, body, tag, room, seq}. */
  function mentionNotification(frame, label) {
    const where = label || "#" + frame.room;
    const text = typeof frame.text === "string" ? frame.text : "";
    return {
      title: `${frame.user} mentioned you in ${where}`,
      body: text.length > 200 ? text.slice(0, 199) + "…" : text,
      tag: `mention:${frame.room}:${frame.seq}`, // several open pages show it once
      room: frame.room,
      seq: frame.seq,
    };
  }

  /**
   * The read position of one room page: what the server knows (hello.read, `read` frames)
   * and when to tell it more. want(seq, now) records what the reader has seen and returns
   * the seq to send now, or null: only when it grows past what the server has, and at most
   * one `read` per `every` ms (delay(now) says how long until the next may go); sent(seq,
   * now) records that it went.
   */
  class ReadPosition {
    constructor(known = 0, every = 1000) {
      this.known = number(known);
      this.seen = this.known;
      this.every = every;
      this.sentAt = -Infinity;
    }

    /** The server's position moved (a `read` frame: this page, another device, the inbox). */
    moved(seq) {
      this.known = Math.max(this.known, number(seq));
      this.seen = Math.max(this.seen, this.known);
    }

    want(seq, now) {
      this.seen = Math.max(this.seen, number(seq));
      if (this.seen <= this.known || now - this.sentAt < this.every) return null;
      return this.seen;
    }

    sent(seq, now) {
      this.sentAt = now;
      this.known = Math.max(this.known, number(seq));
    }

    /** ms until want() may send again (0: now); null when nothing waits to be sent. */
    delay(now) {
      if (this.seen <= this.known) return null;
      return Math.max(0, this.every - (now - this.sentAt));
    }
  }

  root.ChatInbox = { State, ReadPosition, describeCounts, mentionNotification };
})(typeof window !== "undefined" ? window : globalThis);
