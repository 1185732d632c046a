// The rooms page: keeps the online counts fresh while the page is visible (GET /api/rooms).
(function () {
  "use strict";
  const EVERY = 5000;

  async function refresh() {
    if (document.visibilityState !== "visible") return;
    let data;
    try {
      const response = await fetch("/api/rooms", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      data = await response.json();
    } catch (_) {
      return; // offline or restarting: the counts stay as they are until the next try
    }
    for (const room of data.rooms) {
      for (const row of document.querySelectorAll(".room-row")) {
        if (row.dataset.room !== room.name) continue;
        const online = row.querySelector(".online");
        online.dataset.online = room.online === null ? "" : String(room.online);
        online.textContent = room.online === null ? "online count unavailable" : `${room.online} online`;
      }
    }
  }

  setInterval(refresh, EVERY);
  document.addEventListener("visibilitychange", refresh);
})();
