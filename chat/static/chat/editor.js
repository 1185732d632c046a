// Editing a message in place: the Edit action, or Up in an empty composer for the reader's
// last message; Enter saves, Shift+Enter adds a line, Escape cancels. Sets page.startEdit
// on window.ChatRoom (room.js), which actions.js calls.
(function () {
  "use strict";
  const page = window.ChatRoom;
  const { ChatMessages } = window;
  const { prepareText, MAX_TEXT } = window.ChatCore;
  const { connection, shown } = page;
  const $ = (id) => document.getElementById(id);
  const el = ChatMessages.el;
  const me = () => connection.me;
  const input = $("text");

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
    page.restoreFocus(seq, opener);
  }

  // Up in an empty composer edits the reader's last message, as common chats do.
  if (input) {
    input.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowUp" || input.value !== "" || event.isComposing) return;
      if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
      const last = connection.timeline.lastOf(me());
      if (!last || !shown.has(last.seq)) return;
      event.preventDefault();
      startEdit(last.seq, input);
    });
  }

  // Deleted while open (by a moderator, or on another tab): the editor goes, and says why.
  page.changeHooks.push((event) => {
    if (event.type !== "delete" || !editing || editing.seq !== event.target) return;
    const { opener } = editing;
    editing = null;
    page.showNotice("The message you were editing was deleted.");
    page.restoreFocus(event.target, opener);
  });

  page.startEdit = startEdit;
})();
