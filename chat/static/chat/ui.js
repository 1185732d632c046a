// Panels behind a toggle at phone width (the online list; any later sidebar the same way):
//   <button data-panel-toggle aria-controls="ID" aria-expanded="false">…</button>
//   <aside id="ID" class="panel">…</aside>
// The button opens and closes its panel; Escape, or a click outside, closes it and gives the
// focus back to the button. One panel is open at a time. On a wide screen the stylesheet
// shows the panel and hides the button, so nothing here needs to know the width.
(function () {
  "use strict";
  const toggles = () => Array.from(document.querySelectorAll("[data-panel-toggle]"));
  const panelOf = (button) => document.getElementById(button.getAttribute("aria-controls"));
  const isOpen = (button) => button.getAttribute("aria-expanded") === "true";

  function setOpen(button, open) {
    const panel = panelOf(button);
    if (!panel) return;
    button.setAttribute("aria-expanded", String(open));
    panel.classList.toggle("open", open);
  }

  function closeAll(except) {
    for (const button of toggles()) if (button !== except && isOpen(button)) setOpen(button, false);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-panel-toggle]");
    if (button) {
      closeAll(button);
      setOpen(button, !isOpen(button));
      return;
    }
    for (const open of toggles().filter(isOpen)) {
      if (!panelOf(open).contains(event.target)) setOpen(open, false);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = toggles().filter(isOpen);
    if (!open.length) return;
    event.preventDefault();
    const inside = open.find((b) => b === document.activeElement || panelOf(b).contains(document.activeElement));
    for (const button of open) setOpen(button, false);
    if (inside) inside.focus();
  });
})();
