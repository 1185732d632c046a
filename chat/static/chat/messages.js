// One message of the room page as DOM: author, time, "(edited)", the quote of the message it
// answers, its text with links and mentions, its reactions and its actions. User data
// reaches the page only through textContent and checked hrefs, never as HTML.
// Exposed as window.ChatMessages; room.js decides where a message goes, this only draws it.
(function (root) {
  "use strict";
  const { linkParts, mentionParts } = root.ChatCore;

  const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
  const dayClock = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit",
  });
  const fullDate = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });
  const clip = (text, n = 200) => (text.length > n ? text.slice(0, n - 1) + "…" : text);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(className, text, label, action) {
    const node = el("button", className, text);
    node.type = "button";
    if (label) node.setAttribute("aria-label", label);
    if (action) node.dataset.action = action;
    node.tabIndex = -1; // reachable through the message it belongs to (room.js: roving focus)
    return node;
  }

  function localTime(iso) {
    const when = new Date(iso);
    if (!iso || Number.isNaN(when.getTime())) return el("time", "time", "");
    const today = new Date().toDateString() === when.toDateString();
    const node = el("time", "time", (today ? clock : dayClock).format(when));
    node.dateTime = iso;
    node.title = fullDate.format(when);
    return node;
  }

  /** Text with its links (clickable) and its mentions (marked; the reader's own twice). */
  function body(text, mentions, me) {
    const node = el("div", "body");
    for (const part of linkParts(text)) {
      if (part.href) {
        const link = el("a", null, part.text);
        link.href = part.href;
        link.rel = "noopener noreferrer nofollow ugc";
        link.target = "_blank";
        node.append(link);
        continue;
      }
      for (const piece of mentionParts(part.text, mentions)) {
        if (!piece.mention) node.append(document.createTextNode(piece.text));
        else node.append(el("span", piece.mention === me ? "mention me" : "mention", piece.text));
      }
    }
    return node;
  }

  /** The quote of the answered message: a button that goes to it. */
  function quote(target, lookup, me) {
    const answered = lookup(target);
    const node = button("quote", undefined, null, "jump");
    node.dataset.target = target;
    node.append(el("span", "visually-hidden", "In reply to "));
    if (!answered) {
      node.append(el("span", "quote-text", "an earlier message"));
    } else if (answered.deleted) {
      node.append(el("span", "quote-text", "a deleted message"));
    } else {
      node.append(el("span", "quote-who", answered.user === me ? "you" : answered.user));
      node.append(el("span", "visually-hidden", ": "));
      node.append(el("span", "quote-text", clip(answered.text, 120)));
    }
    return node;
  }

  function who(users, me) {
    const names = users.map((u) => (u === me ? "you" : u));
    if (names.length <= 1) return names.join("");
    return names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
  }

  /** The reactions: one toggle per emoji (pressed: the reader's own is among them). */
  function reactions(shown, me) {
    const entries = Object.entries(shown.reactions);
    const node = el("div", "reactions");
    if (!entries.length) {
      node.hidden = true;
      return node;
    }
    node.setAttribute("role", "group");
    node.setAttribute("aria-label", "Reactions");
    for (const [emoji, users] of entries) {
      const mine = Boolean(me) && users.includes(me);
      const chip = button(mine ? "reaction mine" : "reaction", undefined, null, "toggle");
      chip.dataset.emoji = emoji;
      chip.setAttribute("aria-pressed", String(mine));
      chip.setAttribute("aria-label", `${emoji} ${users.length}: ${who(users, me)}`);
      chip.append(el("span", "emoji", emoji), el("span", "n", String(users.length)));
      if (!me) chip.disabled = true;
      node.append(chip);
    }
    return node;
  }

  /** Reply, React, Edit and Delete, as the reader may use them on this message. */
  function actions(shown, ctx) {
    const bar = el("div", "actions");
    if (!ctx.me || shown.deleted) return bar;
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", `Actions on the message of ${shown.user === ctx.me ? "yours" : shown.user}`);
    const author = shown.user === ctx.me ? "your message" : `the message of ${shown.user}`;
    bar.append(
      button("tool", "Reply", `Reply to ${author}`, "reply"),
      button("tool", "React", `React to ${author}`, "react"),
    );
    if (shown.user === ctx.me) bar.append(button("tool", "Edit", "Edit your message", "edit"));
    if (shown.user === ctx.me || ctx.moderator) {
      bar.append(button("tool danger", "Delete", `Delete ${author}`, "delete"));
    }
    return bar;
  }

  /** The author's name: for a logged-in reader a button that opens the direct room with
   * them (actions.js), except on the reader's own messages. */
  function author(user, me) {
    if (!me || user === me) return el("span", "author", user);
    const node = button("author", user, null, "direct");
    node.title = `Open a direct room with ${user}`;
    return node;
  }

  function meta(shown, ctx, timeNode) {
    const node = el("div", "meta");
    const mine = Boolean(ctx.me) && shown.user === ctx.me;
    node.append(author(shown.user, ctx.me));
    if (mine) node.append(el("span", "you", "you"));
    if (timeNode) node.append(timeNode);
    if (shown.edited && !shown.deleted) {
      const edited = el("span", "edited", "(edited)");
      edited.title = `Edited ${fullDate.format(new Date(shown.edited))}`;
      node.append(edited);
    }
    if (!shown.deleted && ctx.me && shown.mentions.includes(ctx.me) && !mine) {
      node.append(el("span", "mentioned", "mentions you"));
    }
    const pending = shown.pending || {};
    let state = "";
    if (pending.delete) state = "deleting…";
    else if (pending.edit) state = "edit not saved yet";
    else if (pending.react) state = "reaction not saved yet";
    if (state) node.append(el("span", "state", state));
    return node;
  }

  /** Draw (again) the inside of li for shown (ChatCore.display); keeps an open editor and
   * the focus on a reaction or action it replaced. */
  function draw(li, shown, ctx) {
    const focused = li.contains(document.activeElement) ? document.activeElement : null;
    const caret = focused && focused.tagName === "TEXTAREA" ? [focused.selectionStart, focused.selectionEnd] : null;
    const editor = li.querySelector(".editor");
    const mine = Boolean(ctx.me) && shown.user === ctx.me;
    const kept = ["active", "flash", "found", "first-unread"].filter((name) => li.classList.contains(name));
    li.className = ["message", ...kept].join(" ");
    li.classList.toggle("mine", mine);
    li.classList.toggle("deleted", shown.deleted);
    li.classList.toggle("deleting", Boolean(shown.pending && shown.pending.delete));
    li.classList.toggle("mentions-me", !shown.deleted && !mine && shown.mentions.includes(ctx.me));
    li.classList.toggle("editing", Boolean(editor) && !shown.deleted);
    li.dataset.seq = shown.seq;
    const parts = [meta(shown, ctx, localTime(shown.ts))];
    if (shown.reply_to && !shown.deleted) parts.push(quote(shown.reply_to, ctx.lookup, ctx.me));
    if (shown.deleted) parts.push(el("div", "body deleted-note", "Message deleted"));
    else if (editor) parts.push(editor);
    else parts.push(body(shown.text, shown.mentions, ctx.me));
    parts.push(reactions(shown, ctx.me), actions(shown, ctx));
    li.replaceChildren(...parts);
    setReachable(li, li.classList.contains("active"));
    if (focused && li.contains(focused)) keepFocus(focused, caret);
    else if (focused) refocus(li, focused);
  }

  /** The focused element was moved (an open editor): focus it again, its caret kept. */
  function keepFocus(focused, caret) {
    if (document.activeElement === focused) return;
    focused.focus({ preventScroll: true });
    if (caret) focused.setSelectionRange(...caret);
  }

  /** Give the focus to the control of li that replaced focused, else to li itself. */
  function refocus(li, focused) {
    let next = null;
    if (focused.dataset.emoji) {
      next = li.querySelector(`.reaction[data-emoji="${CSS.escape(focused.dataset.emoji)}"]`);
    } else if (focused.dataset.action) {
      next = li.querySelector(`[data-action="${focused.dataset.action}"]`);
    }
    (next || li).focus();
  }

  /** A new <li> for message state shown. */
  function create(shown, ctx) {
    const li = el("li", "message");
    li.tabIndex = -1;
    draw(li, shown, ctx);
    return li;
  }

  /** An outbox entry of a message (not acknowledged yet): author, state, text. */
  function pendingItem(entry, ctx) {
    const li = el("li", "message mine pending");
    const head = el("div", "meta");
    head.append(el("span", "author", ctx.me), el("span", "you", "you"), el("span", "state", "pending"));
    li.append(head);
    if (entry.replyTo) li.append(quote(entry.replyTo, ctx.lookup, ctx.me));
    li.append(body(entry.text, [], ctx.me));
    li.dataset.clientId = entry.clientId;
    return li;
  }

  /** The controls inside li: reachable with Tab only while li is the active message. */
  function setReachable(li, reachable) {
    for (const control of li.querySelectorAll("button, a[href]")) {
      control.tabIndex = reachable ? 0 : -1;
    }
  }

  /** What a screen reader hears of a message in one line. */
  function summary(message) {
    return `${message.user}: ${clip(message.text)}`;
  }

  root.ChatMessages = { create, draw, pendingItem, setReachable, summary, el, clip, author };
})(window);
