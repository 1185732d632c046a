// Completion of `@name` in the composer: as the reader types `@` and the start of a name,
// a list of the people this page knows of (who is online, who wrote, who was mentioned)
// opens above the composer. Up and Down choose, Enter or Tab inserts, Escape closes; a
// click inserts too. The textarea keeps the focus (aria-activedescendant names the choice).
(function () {
  "use strict";
  const page = window.ChatRoom;
  const { mentionQuery, completeNames } = window.ChatCore;
  const $ = (id) => document.getElementById(id);
  const input = $("text");
  const composer = $("composer");
  const listEl = $("mention-list");
  const live = $("mention-live");
  if (!input || !listEl) return;

  let items = [];
  let index = 0;
  let query = null;

  /** Everyone this page knows of who can read the room. */
  function known() {
    const names = Array.from(document.querySelectorAll("#presence .name"), (n) => n.textContent);
    for (const message of page.connection.timeline.messages.values()) {
      names.push(message.user, ...message.mentions);
    }
    return names;
  }

  function isOpen() {
    return !listEl.hidden;
  }

  function close() {
    listEl.hidden = true;
    listEl.replaceChildren();
    input.removeAttribute("aria-activedescendant");
    items = [];
    query = null;
  }

  function render() {
    listEl.replaceChildren(
      ...items.map((name, i) => {
        const option = document.createElement("li");
        option.id = `mention-option-${i}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", String(i === index));
        option.dataset.name = name;
        option.textContent = "@" + name;
        return option;
      }),
    );
    listEl.hidden = false;
    input.setAttribute("aria-activedescendant", `mention-option-${index}`);
  }

  function update() {
    const found = mentionQuery(input.value, input.selectionStart);
    const names = found ? completeNames(known(), found.query, page.connection.me) : [];
    if (!names.length) {
      if (isOpen()) live.textContent = "";
      return close();
    }
    const count = names.length === 1 ? "1 name" : `${names.length} names`;
    if (!isOpen() || names.length !== items.length) {
      live.textContent = `${count}: Up and Down choose, Enter inserts.`;
    }
    items = names;
    query = found;
    index = Math.min(index, items.length - 1);
    render();
  }

  function pick(i) {
    const name = items[i];
    const end = input.selectionStart;
    const value = input.value;
    const inserted = `@${name} `;
    input.value = value.slice(0, query.start) + inserted + value.slice(end);
    const caret = query.start + inserted.length;
    input.setSelectionRange(caret, caret);
    close();
    live.textContent = `${name} inserted.`;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // Captured on the form: runs before the composer's own Enter (send) and Up (edit).
  composer.addEventListener(
    "keydown",
    (event) => {
      if (event.target !== input || !isOpen() || event.isComposing) return;
      const moves = { ArrowDown: 1, ArrowUp: -1 };
      if (event.key in moves) {
        index = (index + moves[event.key] + items.length) % items.length;
        render();
      } else if (event.key === "Enter" || event.key === "Tab") {
        if (event.shiftKey) return;
        pick(index);
      } else if (event.key === "Escape") {
        close();
      } else {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
    },
    true,
  );

  input.addEventListener("input", () => {
    index = 0;
    update();
  });
  input.addEventListener("blur", () => setTimeout(() => document.activeElement !== input && close(), 150));
  listEl.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus
  listEl.addEventListener("click", (event) => {
    const option = event.target.closest("[role=option]");
    if (option) pick(items.indexOf(option.dataset.name));
  });
})();
