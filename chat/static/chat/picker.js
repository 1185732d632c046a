// Reactions: the picker (the reader's last emoji and the usual ones, plus any typed one)
// and joining or leaving a reaction by clicking it. Sets page.openPicker and
// page.toggleReaction on window.ChatRoom (room.js), which actions.js calls.
(function () {
  "use strict";
  const page = window.ChatRoom;
  const { ChatMessages } = window;
  const { validEmoji } = window.ChatCore;
  const { connection } = page;
  const $ = (id) => document.getElementById(id);
  const el = ChatMessages.el;
  const me = () => connection.me;

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
      // The close event is queued: reopened meanwhile (Escape, then Enter at once), the
      // picker belongs to the new opening.
      if (picker.open) return;
      if (picking) page.restoreFocus(picking.seq, picking.opener);
      picking = null;
    });
  }

  page.openPicker = openPicker;
  page.toggleReaction = toggleReaction;
})();
