// What a reader does to messages: move between them with the arrow keys (the active one
// shows its actions), reply, react (a small picker, or a click on an existing reaction),
// edit in place (also the last own message with Up in an empty composer), delete after a
// confirmation. Commands go through the connection's outbox (client.js), so whatever is
// done offline is sent on the next connection. Works on window.ChatRoom (room.js).
(function () {
  "use strict";
  const page = window.ChatRoom;
  const { ChatMessages } = window;
  const { prepareText, validEmoji, MAX_TEXT } = window.ChatCore;
  const { connection, shown } = page;
  const $ = (id) => document.getElementById(id);
  const el = ChatMessages.el;
  const list = $("messages");
  const log = $("log");
  const input = $("text");
  const me = () => connection.me;

  const seqOf = (li) => Number(li.dataset.seq);
  const messageOf = (node) => node && node.closest("#messages > li.message");

  // the active message: its controls are reachable with Tab ---------------------------------

  let active = null;

  function activate(li) {
    if (active === li) return;
    if (active) {
      active.classList.remove("active");
      ChatMessages.setReachable(active, false);
    }
    active = li;
    if (li) {
      li.classList.add("active");
      ChatMessages.setReachable(li, true);
    }
  }

  function focusMessage(li) {
    if (!li) return;
    li.focus({ preventScroll: true });
    li.scrollIntoView({ block: "nearest" });
  }

  /** The last message whose top shows in the log (where the reader is). */
  function lastInView() {
    const bottom = log.getBoundingClientRect().bottom;
    const items = Array.from(list.children);
    for (let i = items.length - 1; i >= 0; i--) {
      if (items[i].getBoundingClientRect().top < bottom) return items[i];
    }
    return items[items.length - 1] || null;
  }

  list.addEventListener("focusin", (event) => activate(messageOf(event.target)));

  log.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (event.target.closest(".editor")) return;
    const li = messageOf(event.target);
    if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      if (!li) return focusMessage(lastInView());
      const next = event.key === "ArrowUp" ? li.previousElementSibling : li.nextElementSibling;
      if (next) focusMessage(next);
      else if (event.key === "ArrowUp") connection.loadOlder();
    } else if (event.key === "Escape" && li) {
      event.preventDefault();
      if (document.activeElement === li) log.focus();
      else li.focus();
    }
  });

  // clicks: a control of a message, or the message itself (a tap shows its actions) --------

  const ACTIONS = {
    reply: (li) => startReply(seqOf(li)),
    react: (li, control) => openPicker(seqOf(li), control),
    edit: (li) => startEdit(seqOf(li), null),
    delete: (li, control) => confirmDelete(seqOf(li), control),
    toggle: (li, control) => toggleReaction(seqOf(li), control.dataset.emoji),
    jump: (li, control) => goTo(Number(control.dataset.target)),
  };

  list.addEventListener("click", (event) => {
    const li = messageOf(event.target);
    if (!li) return;
    const control = event.target.closest("[data-action]");
    if (control && ACTIONS[control.dataset.action]) {
      ACTIONS[control.dataset.action](li, control);
    } else if (!event.target.closest("a, .editor")) {
      activate(li);
    }
  });

  /** After a dialog or an editor closes: back to what opened it, else to its message. */
  function restoreFocus(seq, opener) {
    if (opener && opener.isConnected && opener.offsetParent !== null) return opener.focus();
    const li = shown.get(seq);
    if (li) li.focus();
    else log.focus();
  }

  // reply -------------------------------------------------------------------------------------

  const replying = $("replying");

  function startReply(seq) {
    const answered = connection.display(seq);
    if (!input || !answered || answered.deleted) return;
    page.reply = seq;
    $("replying-who").textContent = answered.user === me() ? "you" : answered.user;
    $("replying-text").textContent = ChatMessages.clip(answered.text, 120);
    replying.hidden = false;
    input.setAttribute("aria-describedby", "replying composer-help counter");
    input.focus();
  }

  page.clearReply = function () {
    page.reply = null;
    if (!replying) return;
    replying.hidden = true;
    input.setAttribute("aria-describedby", "composer-help counter");
  };

  if (replying) {
    $("reply-cancel").addEventListener("click", () => {
      page.clearReply();
      input.focus();
    });
  }

  // jump to the answered message (pages of scrollback are loaded until it shows) ---------------

  const JUMP_PAGES = 20;
  let jumping = null; // {target, pages}

  function goTo(target) {
    const li = shown.get(target);
    if (li) {
      jumping = null;
      li.scrollIntoView({ block: "center" });
      li.focus({ preventScroll: true });
      li.classList.add("flash");
      setTimeout(() => li.classList.remove("flash"), 2000);
      return;
    }
    if (!jumping || jumping.target !== target) jumping = { target, pages: 0 };
    if (jumping.pages >= JUMP_PAGES || !connection.loadOlder()) {
      if (connection.olderComplete) page.showNotice("The answered message is no longer in the room.");
      jumping = null;
      return;
    }
    jumping.pages++;
  }

  page.afterOlder = () => {
    if (jumping) goTo(jumping.target);
  };

  // reactions ---------------------------------------------------------------------------------

  const FREQUENT = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];
  const RECENT_KEY = "chat-recent-emoji";

  function recent() {
    try {
      const saved = JSON.parse(window.localStorage.getItem(RECENT_KEY) || "[]");
      return Array.isArray(saved) ? saved.filter(validEmoji) : [];
    } catch (_) {
      return [];
    }
  }

  function remember(emoji) {
    try {
      const kept = [emoji, ...recent().filter((e) => e !== emoji)].slice(0, 4);
      window.localStorage.setItem(RECENT_KEY, JSON.stringify(kept));
    } catch (_) {
      // storage disabled: the picker shows the usual ones
    }
  }

  function mineOn(seq, emoji) {
    const current = connection.display(seq);
    return Boolean(current && (current.reactions[emoji] || []).includes(me()));
  }

  function toggleReaction(seq, emoji) {
    const current = connection.display(seq);
    if (!me() || !current || current.deleted) return;
    connection.react(seq, emoji, !mineOn(seq, emoji));
  }

  const picker = $("picker");
  const pickerInput = $("picker-input");
  const pickerError = $("picker-error");
  let picking = null; // {seq, opener}

  function openPicker(seq, opener) {
    if (!picker || !connection.display(seq)) return;
    picking = { seq, opener };
    const choices = [...new Set([...recent(), ...FREQUENT])].slice(0, 8);
    $("picker-frequent").replaceChildren(
      ...choices.map((emoji) => {
        const choice = el("button", mineOn(seq, emoji) ? "emoji-choice mine" : "emoji-choice", emoji);
        choice.type = "button";
        choice.dataset.emoji = emoji;
        choice.setAttribute("aria-pressed", String(mineOn(seq, emoji)));
        return choice;
      }),
    );
    pickerInput.value = "";
    pickerError.textContent = "";
    pickerInput.removeAttribute("aria-invalid");
    picker.showModal();
    picker.querySelector(".emoji-choice").focus();
  }

  function choose(emoji) {
    const { seq } = picking;
    remember(emoji);
    picker.close();
    toggleReaction(seq, emoji);
  }

  if (picker) {
    $("picker-frequent").addEventListener("click", (event) => {
      const choice = event.target.closest(".emoji-choice");
      if (choice) choose(choice.dataset.emoji);
    });
    $("picker-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const emoji = pickerInput.value.trim();
      if (!validEmoji(emoji)) {
        pickerError.textContent = "Type one emoji, for example 👍 or 🚀.";
        pickerInput.setAttribute("aria-invalid", "true");
        pickerInput.focus();
        return;
      }
      choose(emoji);
    });
    $("picker-close").addEventListener("click", () => picker.close());
    picker.addEventListener("close", () => {
      if (picking) restoreFocus(picking.seq, picking.opener);
      picking = null;
    });
  }

  // delete ------------------------------------------------------------------------------------

  const confirmDialog = $("confirm-delete");
  let deleting = null; // {seq, opener}

  function confirmDelete(seq, opener) {
    const current = connection.display(seq);
    if (!confirmDialog || !current || current.deleted) return;
    deleting = { seq, opener };
    $("confirm-delete-quote").textContent = ChatMessages.clip(current.text, 160);
    confirmDialog.returnValue = "";
    confirmDialog.showModal();
    $("confirm-delete-cancel").focus();
  }

  if (confirmDialog) {
    confirmDialog.addEventListener("close", () => {
      if (!deleting) return;
      const { seq, opener } = deleting;
      deleting = null;
      if (confirmDialog.returnValue === "delete") connection.remove(seq);
      restoreFocus(seq, opener);
    });
  }

  // edit in place -----------------------------------------------------------------------------

  let editing = null; // {seq, form, textarea, opener}

  function startEdit(seq, opener) {
    const li = shown.get(seq);
    const current = connection.display(seq);
    if (!li || !current || current.deleted || current.user !== me()) return;
    if (editing) closeEdit();
    const form = el("form", "editor");
    const label = el("label", "visually-hidden", "Edit your message");
    const textarea = el("textarea");
    textarea.id = `edit-${seq}`;
    label.htmlFor = textarea.id;
    textarea.value = current.text;
    textarea.rows = Math.min(8, current.text.split("\n").length + 1);
    const hint = el("p", "editor-help", "Enter saves · Escape cancels");
    hint.id = `edit-help-${seq}`;
    textarea.setAttribute("aria-describedby", hint.id);
    const save = el("button", null, "Save");
    save.type = "submit";
    const cancel = el("button", "quiet", "Cancel");
    cancel.type = "button";
    const buttons = el("div", "editor-buttons");
    buttons.append(save, cancel);
    form.append(label, textarea, hint, buttons);
    if (page.completeIn) page.completeIn(textarea, form);
    editing = { seq, form, textarea, opener };
    li.classList.add("editing");
    const body = li.querySelector(".body");
    if (body) body.replaceWith(form);
    textarea.focus({ preventScroll: true });
    textarea.setSelectionRange(textarea.value.length, textarea.value.length);
    form.scrollIntoView({ block: "nearest" }); // its buttons too, on a small screen

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      saveEdit();
    });
    cancel.addEventListener("click", () => closeEdit());
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        closeEdit();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        if (event.altKey || event.ctrlKey || event.metaKey) return;
        event.preventDefault();
        saveEdit();
      }
    });
  }

  function saveEdit() {
    const { seq, textarea } = editing;
    const current = connection.display(seq);
    const prepared = prepareText(textarea.value);
    if (!current || current.deleted) {
      page.showNotice("This message was deleted meanwhile: nothing to edit.");
    } else if (prepared.error === "empty") {
      page.showNotice("An edit cannot be empty: delete the message instead.");
      return;
    } else if (prepared.error === "too_long") {
      page.showNotice(`A message is at most ${MAX_TEXT} characters; this one has ${prepared.length}.`);
      return;
    } else if (prepared.text !== current.text) {
      connection.edit(seq, prepared.text);
    }
    closeEdit();
  }

  function closeEdit() {
    if (!editing) return;
    const { seq, form, opener } = editing;
    editing = null;
    const li = shown.get(seq);
    form.remove();
    if (li) li.classList.remove("editing");
    page.redraw(seq);
    restoreFocus(seq, opener);
  }

  // Up in an empty composer edits the reader's last message, as common chats do.
  if (input) {
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && page.reply !== null) {
        event.preventDefault();
        page.clearReply();
        return;
      }
      if (event.key !== "ArrowUp" || input.value !== "" || event.isComposing) return;
      if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
      const last = connection.timeline.lastOf(me());
      if (!last || !shown.has(last.seq)) return;
      event.preventDefault();
      startEdit(last.seq, input);
    });
  }
})();
