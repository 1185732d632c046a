"""The real-time side: WebSocket consumer, hub (fan-out), sequencer, presence, transport,
origin check and graceful shutdown. Pages, API, admin and signals never import it; they
reach sockets by publishing envelopes (chat.broadcast)."""
