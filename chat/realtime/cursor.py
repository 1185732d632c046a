"""One socket's place in its room's stream of events (pure, no I/O).

A socket receives each event of its room once, in seq order. Live events from the hub
are held back while the socket is not caught up (until its `hello`, or during a
`resume`), then released in order, skipping what the socket already got.
"""

__all__ = ["Cursor"]


class Cursor:
    """The last seq a socket was sent, and the live events held back meanwhile."""

    __slots__ = ("seq", "held")

    def __init__(self):
        self.seq = 0
        self.held = []  # held back until hello has been sent

    @property
    def holding(self):
        return self.held is not None

    def hold(self):
        """Hold live events back (a resume is being answered)."""
        if self.held is None:
            self.held = []

    def live(self, seq, text):
        """A live event: the text to send now, or None (held back, or already sent)."""
        if self.held is not None:
            self.held.append((seq, text))
            return None
        if seq <= self.seq:
            return None
        self.seq = seq
        return text

    def sent(self, seq):
        """An event sent from the database (hello, resume): the cursor moves to it."""
        if seq > self.seq:
            self.seq = seq

    def release(self):
        """Stop holding: [(seq, text)] of the held events still to send, in seq order;
        the cursor moves past each one returned."""
        held, self.held = self.held or [], None
        due = []
        for seq, text in sorted(held, key=lambda item: item[0]):
            if seq > self.seq:
                self.seq = seq
                due.append((seq, text))
        return due
