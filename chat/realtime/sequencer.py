"""The in-order delivery rules of one room in one process (pure: no I/O, no tasks).

Events reach a process through Redis pub/sub, which may drop or (across a reconnect)
miss some; the database holds every one. The sequencer decides, event by event, what can
be delivered now (strictly the next seq), what waits, when the database must fill a gap,
how far a catch-up reads, and when to give up on a seq and move on. The hub feeds it and
does the I/O its answers ask for.
"""

__all__ = ["Sequencer", "MAX_CATCH_UP"]

# Catching up further than this after a restart is left to the clients' own resume.
MAX_CATCH_UP = 1000


class Sequencer:
    """Cursor (last seq delivered; None until started) and pending events by seq.

    A pending text of None is an event that exists but is not delivered (hidden): the
    cursor moves past it without delivering anything.
    """

    __slots__ = ("cursor", "pending")

    def __init__(self):
        self.cursor = None
        self.pending = {}

    @property
    def started(self):
        return self.cursor is not None

    def start(self, latest):
        """The subscription is live and everything up to latest is in the database (the
        members read it from there): deliver from latest + 1 on. Returns what is due."""
        self.cursor = latest
        for seq in [s for s in self.pending if s <= latest]:
            del self.pending[seq]
        return self.drain()

    def offer(self, seq, text):
        """An event from Redis. Returns [(seq, text)] due now, in order (empty while it
        waits for a missing one, or when it was delivered already)."""
        if self.cursor is not None and seq <= self.cursor:
            return []
        self.pending[seq] = text
        return self.drain() if self.cursor is not None else []

    def drain(self):
        """[(seq, text)] of the consecutive pending events after the cursor, which moves
        past each (and past hidden ones, which are not returned)."""
        due = []
        if self.cursor is None:
            return due
        while self.cursor + 1 in self.pending:
            self.cursor += 1
            text = self.pending.pop(self.cursor)
            if text is not None:
                due.append((self.cursor, text))
        return due

    @property
    def gap(self):
        """True when something waits for a seq that has not come."""
        return (
            bool(self.pending) and self.cursor is not None and self.cursor + 1 not in self.pending
        )

    def to_read(self, latest=None):
        """(after, upto): the seqs the database must provide, or None when nothing is
        missing. With events pending, up to the newest of them; without (a catch-up after a
        resubscribe), up to latest, the room's latest seq, which the caller read. Never more
        than MAX_CATCH_UP at a time."""
        if self.cursor is None:
            return None
        if self.pending:
            if not self.gap:
                return None
            upto = max(self.pending)
        elif latest is None or latest <= self.cursor:
            return None
        else:
            upto = latest
        return self.cursor, min(upto, self.cursor + MAX_CATCH_UP)

    def fill(self, rows):
        """Rows read from the database, [(seq, text or None)]: the missing ones become
        pending. Returns (how many were recovered, [(seq, text)] due now)."""
        recovered = 0
        for seq, text in rows:
            if self.cursor is not None and seq > self.cursor and seq not in self.pending:
                self.pending[seq] = text
                recovered += 1
        return recovered, self.drain()

    def skip(self):
        """Give up on the missing seqs before the earliest pending one (they are not in the
        database after repeated reads: cannot happen while seqs are assigned under lock).
        Returns (how many were skipped, [(seq, text)] due now)."""
        if not self.gap:
            return 0, []
        earliest = min(self.pending)
        skipped = earliest - 1 - self.cursor
        self.cursor = earliest - 1
        return skipped, self.drain()
