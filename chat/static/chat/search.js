// The search box of every page: GET /api/search, the results listed with room, author, time
// and text (the words searched for marked), each a link that opens the room at the message
// (/chat/<room>/?at=<seq>: reading.js jumps there; in the room already, at once). User data
// reaches the page only through textContent and checked hrefs, never as HTML.
// The pure part, highlightParts, is exposed as window.ChatSearch.
(function (root) {
  "use strict";

  const WORD = /[\p{L}\p{N}_]+/gu;

  /** The words of a query, lowercased, each once. */
  function queryWords(query) {
    return [...new Set((query.match(WORD) || []).map((w) => w.toLowerCase()))];
  }

  /**
   * Split text into [{text}] and [{text, match: true}] parts: each word of the text that
   * is, or starts with, a word of query (case-insensitive: the database's stemming finds
   * "meetings" for "meeting", so the mark does too).
   */
  function highlightParts(text, query) {
    const words = queryWords(query);
    if (!words.length || !text) return text ? [{ text }] : [];
    const parts = [];
    let last = 0;
    for (const found of text.matchAll(WORD)) {
      const lower = found[0].toLowerCase();
      if (!words.some((w) => lower.startsWith(w))) continue;
      if (found.index > last) parts.push({ text: text.slice(last, found.index) });
      parts.push({ text: found[0], match: true });
      last = found.index + found[0].length;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
  }

  root.ChatSearch = { highlightParts, queryWords };

  const $ = (id) => document.getElementById(id);
  const form = root.document && $("search-form");
  if (!form) return;
  const box = $("search");
  const input = $("search-input");
  const results = $("search-results");
  const status = $("search-status");
  const list = $("search-list");
  const toggle = $("search-toggle");
  const LIMIT = 20;
  const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** "#lobby", or the other user's name for a direct room the inbox knows. */
  function roomLabel(room) {
    const inbox = root.ChatInbox && root.ChatInbox.state;
    return inbox && inbox.get(room) ? inbox.label(room) : "#" + room;
  }

  function result(message, query) {
    const link = el("a", "result");
    link.href = `/chat/${encodeURIComponent(message.room)}/?at=${message.seq}`;
    link.dataset.room = message.room;
    link.dataset.seq = String(message.seq);
    const meta = el("span", "result-meta");
    meta.append(el("span", "result-room", roomLabel(message.room)), el("span", "result-user", message.user));
    const time = el("time", "result-time");
    const moment = new Date(message.ts);
    if (!Number.isNaN(moment.getTime())) {
      time.dateTime = message.ts;
      time.textContent = when.format(moment);
    }
    meta.append(time);
    const text = el("span", "result-text");
    for (const part of highlightParts(message.text || "", query)) {
      text.append(part.match ? el("mark", null, part.text) : document.createTextNode(part.text));
    }
    link.append(meta, text);
    const li = el("li");
    li.append(link);
    return li;
  }

  function show(text, items = []) {
    status.textContent = text;
    list.replaceChildren(...items);
    results.hidden = false;
  }

  function close({ focus = false } = {}) {
    results.hidden = true;
    if (focus) input.focus();
  }

  let asked = 0; // the latest search: an older answer arriving late is dropped

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = input.value.trim();
    if (!query) {
      show("Type one or more words to search for.");
      return;
    }
    const mine = ++asked;
    show("Searching…");
    let response;
    let data = null;
    try {
      const params = new URLSearchParams({ q: query, limit: String(LIMIT) });
      response = await fetch(`/api/search?${params}`, { headers: { Accept: "application/json" } });
      data = await response.json().catch(() => null);
    } catch (_) {
      response = null;
    }
    if (mine !== asked) return;
    if (!response || !response.ok || !data || !Array.isArray(data.results)) {
      const detail = data && (data.detail || data.error);
      show(response && response.status === 400 && detail ? detail : "Search is unavailable right now; try again.");
      return;
    }
    const found = data.results.filter((m) => m && typeof m.room === "string" && Number.isInteger(m.seq));
    const quoted = `“${query}”`;
    if (!found.length) show(`No messages found for ${quoted}.`);
    else {
      const n = found.length === 1 ? "1 message" : `${found.length} messages`;
      const more = data.complete === false ? ` (the newest ${found.length}; add words to narrow it)` : "";
      show(`${n} found for ${quoted}${more}.`, found.map((m) => result(m, query)));
    }
  });

  // A result in the room already open: jump there without loading the page again.
  list.addEventListener("click", (event) => {
    const link = event.target.closest("a.result");
    const page = root.ChatRoom;
    if (!link || !page || !page.goTo || link.dataset.room !== document.body.dataset.room) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    close();
    if (toggle.getAttribute("aria-expanded") === "true") toggle.click(); // the phone's panel
    root.history.replaceState(null, "", link.href);
    page.goTo(Number(link.dataset.seq), { found: true });
  });

  box.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || results.hidden) return;
    if (toggle.getAttribute("aria-expanded") === "true") return; // ui.js closes the panel
    event.preventDefault();
    event.stopPropagation();
    close({ focus: true });
  });
  document.addEventListener("click", (event) => {
    if (!results.hidden && !box.contains(event.target) && event.target !== toggle) close();
  });
  // At phone width the box is a panel behind the toggle: opening it puts the caret in it.
  toggle.addEventListener("click", () => {
    setTimeout(() => {
      if (toggle.getAttribute("aria-expanded") === "true") input.focus();
    }, 0);
  });
})(window);
