// The colour theme: the system's (prefers-color-scheme) unless the reader chose the other one
// with the theme button; the choice is kept in localStorage. Loaded without defer in <head>,
// so <html data-theme> is set before the first paint and no page flashes the wrong theme.
(function () {
  "use strict";
  const KEY = "chat-theme";
  const root = document.documentElement;
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  const system = () => (dark.matches ? "dark" : "light");

  function stored() {
    try {
      const value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : null;
    } catch (_) {
      return null; // storage disabled: the system's theme
    }
  }

  function apply(theme) {
    if (theme) root.dataset.theme = theme;
    else delete root.dataset.theme;
  }

  const current = () => root.dataset.theme || system();

  /** Choose theme; choosing the system's one drops the override (the system leads again). */
  function choose(theme) {
    const override = theme === system() ? null : theme;
    apply(override);
    try {
      if (override) window.localStorage.setItem(KEY, override);
      else window.localStorage.removeItem(KEY);
    } catch (_) {
      // not remembered, still applied to this page
    }
  }

  root.classList.add("js");
  apply(stored());

  function wire() {
    const button = document.getElementById("theme-toggle");
    if (!button) return;
    const sync = () => button.setAttribute("aria-pressed", String(current() === "dark"));
    button.addEventListener("click", () => {
      choose(current() === "dark" ? "light" : "dark");
      sync();
    });
    dark.addEventListener("change", sync);
    window.addEventListener("storage", (event) => {
      if (event.key !== KEY && event.key !== null) return;
      apply(stored()); // chosen in another tab
      sync();
    });
    sync();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
  window.ChatTheme = { choose, current };
})();
