// What a reader does to messages: move between them with the arrow keys (the active one
// shows its actions), reply, go to an answered message, delete after a confirmation; the
// buttons React and Edit open picker.js and editor.js. Commands go through the connection's
// outbox (client.js), so whatever is done offline is sent on the next connection. Works on
// window.ChatRoom (room.js).
(function () {
  "use strict";
  const page = window.ChatRoom;
  const { ChatMessages } = window;
  const { connection, shown } = page;
  const $ = (id) => document.getElementById(id);
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
  // The focus went elsewhere on the page (not into a dialog a message opened): the actions go.
  list.addEventListener("focusout", (event) => {
    const to = event.relatedTarget;
    if (to && !list.contains(to) && !to.closest("dialog")) activate(null);
  });

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
    react: (li, control) => page.openPicker(seqOf(li), control),
    edit: (li) => page.startEdit(seqOf(li), null),
    delete: (li, control) => confirmDelete(seqOf(li), control),
    toggle: (li, control) => page.toggleReaction(seqOf(li), control.dataset.emoji),
    jump: (li, control) => goTo(Number(control.dataset.target)),
    direct: (li, control) => page.openDirect(control.textContent),
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
  page.restoreFocus = function restoreFocus(seq, opener) {
    const li = shown.get(seq);
    // The message may have been drawn again meanwhile: its button of the same action then.
    const same = opener && li && !opener.isConnected && opener.dataset.action
      ? li.querySelector(`[data-action="${opener.dataset.action}"]`)
      : opener;
    const shows = (node) => node && node.isConnected && node.offsetParent !== null;
    if (shows(same)) same.focus();
    else if (li) li.focus();
    else log.focus();
  };

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
    page.changeHooks.push((event) => {
      if (event.type !== "delete" || event.target !== page.reply) return;
      page.clearReply();
      page.showNotice("The message you were answering was deleted.");
    });
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || page.reply === null) return;
      event.preventDefault();
      page.clearReply();
    });
  }

  // jump to a message: the answered one, or one a search found (room page ?at=<seq>); pages
  // of scrollback are loaded until it shows -----------------------------------------------

  const JUMP_PAGES = 20;
  const FOUND_PAGES = 40; // a search may find a message further back than a reply quotes
  let jumping = null; // {target, pages, found}

  function goTo(target, { found = false } = {}) {
    const li = shown.get(target);
    if (li) {
      jumping = null;
      li.scrollIntoView({ block: "center" });
      li.focus({ preventScroll: true });
      if (found) {
        for (const old of list.querySelectorAll(".message.found")) old.classList.remove("found");
        li.classList.add("found"); // stays marked while the reader looks around it
      } else {
        li.classList.add("flash");
        setTimeout(() => li.classList.remove("flash"), 2000);
      }
      return;
    }
    if (!jumping || jumping.target !== target) jumping = { target, pages: 0, found };
    if (connection.loadingOlder) return; // a page is on its way: afterOlder() comes back
    if (jumping.pages >= (found ? FOUND_PAGES : JUMP_PAGES) || !connection.loadOlder()) {
      if (connection.olderComplete) {
        page.showNotice(found ? "That message is no longer in the room." : "The answered message is no longer in the room.");
      }
      jumping = null;
      return;
    }
    jumping.pages++;
  }

  page.afterOlder = () => {
    if (jumping) goTo(jumping.target, { found: jumping.found });
  };
  page.goTo = goTo;

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
      // The close event is queued: an Escape then a quick Enter on Delete reopens the
      // dialog before the first close is handled, which must not end the new opening.
      if (!deleting || confirmDialog.open) return;
      const { seq, opener } = deleting;
      deleting = null;
      if (confirmDialog.returnValue === "delete") connection.remove(seq);
      page.restoreFocus(seq, opener);
    });
  }

})();
