// Plain room client: connect, show history and live messages, reconnect and resume by seq.
(function () {
  "use strict";
  const root = document.getElementById("chat");
  const room = root.dataset.room;
  const list = document.getElementById("messages");
  const status = document.getElementById("status");
  const presenceEl = document.getElementById("presence");
  const typingEl = document.getElementById("typing");
  const composer = document.getElementById("composer");
  const STOP = new Set([1000, 4401, 4403, 4404]);
  let lastSeq = 0, socket = null, attempt = 0;
  const seen = new Set();

  function show(msg) {
    if (seen.has(msg.seq)) return;
    seen.add(msg.seq);
    lastSeq = Math.max(lastSeq, msg.seq);
    const li = document.createElement("li");
    li.dataset.seq = msg.seq;
    if (msg.user === root.dataset.user) li.className = "mine";
    const who = document.createElement("span"); who.className = "user"; who.textContent = msg.user;
    const text = document.createElement("span"); text.className = "text"; text.textContent = " " + msg.text;
    li.append(who, text);
    list.append(li);
    list.scrollTop = list.scrollHeight;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const since = lastSeq ? "?since=" + lastSeq : "";
    socket = new WebSocket(`${scheme}://${location.host}/ws/chat/${room}/${since}`);
    status.textContent = "connecting";
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "hello") { attempt = 0; status.textContent = "connected"; frame.history.forEach(show); }
      else if (frame.type === "message") {
        if (lastSeq && frame.seq > lastSeq + 1) socket.send(JSON.stringify({ type: "resume", since: lastSeq }));
        else show(frame);
      }
      else if (frame.type === "presence") presenceEl.textContent = `Online: ${frame.users.join(", ")}` + (frame.anonymous ? ` and ${frame.anonymous} guests` : "");
      else if (frame.type === "typing") { typingEl.textContent = `${frame.user} is typing...`; setTimeout(() => { typingEl.textContent = ""; }, 3000); }
      else if (frame.type === "error") status.textContent = frame.detail;
    };
    socket.onclose = (event) => {
      if (STOP.has(event.code)) { status.textContent = `closed (${event.code})`; return; }
      const delay = Math.random() * Math.min(30000, 500 * 2 ** attempt++);
      status.textContent = `reconnecting in ${Math.ceil(delay / 1000)} s`;
      setTimeout(connect, delay);
    };
  }

  if (composer) {
    const input = document.getElementById("text");
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ type: "message", text, client_id: "c-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8) }));
      input.value = "";
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); composer.requestSubmit(); }
      else if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "typing" }));
    });
  }
  connect();
})();
