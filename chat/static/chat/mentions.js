// Completion of `@name` in the composer and in a message's editor: as the reader types `@`
// and the start of a name, a list of the people this page knows of (who is online, who
// wrote, who was mentioned) opens above the field. Up and Down choose, Enter or Tab inserts, Escape closes; a
// click inserts too. The textarea keeps the focus (aria-activedescendant names the choice).
(function () {
  "use strict";
  const page = window.ChatRoom;
  const { mentionQuery, completeNames } = window.ChatCore;
  const $ = (id) => document.getElementById(id);

  /** Everyone this page knows of who can read the room. */
  function known() {
    const names = Array.from(document.querySelectorAll("#presence .name"), (n) => n.textContent);
    for (const message of page.connection.timeline.messages.values()) {
      names.push(message.user, ...message.mentions);
    }
    return names;
  }

  /** Complete names in input (a textarea inside form) with the listbox listEl; the polite
   * live region says how many names match and which was inserted. */
  function attach(input, form, listEl, live) {
    let items = [];
    let index = 0;
    let query = null;
    const isOpen = () => !listEl.hidden;
    const optionId = (i) => `${listEl.id}-${i}`;

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
          option.id = optionId(i);
          option.setAttribute("role", "option");
          option.setAttribute("aria-selected", String(i === index));
          option.dataset.name = name;
          option.textContent = "@" + name;
          return option;
        }),
      );
      listEl.hidden = false;
      input.setAttribute("aria-activedescendant", optionId(index));
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

    // Captured on the form: runs before the field's own Enter (send, save), Up and Escape.
    form.addEventListener(
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
  }

  const input = $("text");
  if (input) attach(input, $("composer"), $("mention-list"), $("mention-live"));

  /** The editor of a message (actions.js): completion there too, with a list of its own. */
  page.completeIn = (textarea, form) => {
    const listEl = document.createElement("ul");
    listEl.id = `${textarea.id}-mentions`;
    listEl.className = "mention-list";
    listEl.setAttribute("role", "listbox");
    listEl.setAttribute("aria-label", "People to mention");
    listEl.hidden = true;
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", listEl.id);
    form.prepend(listEl);
    attach(textarea, form, listEl, $("mention-live"));
  };
})();
