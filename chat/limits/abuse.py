"""Counting refusals for abuse (pure): the contract closes a connection with 4429 after 5
`rate_limited` refusals within one window."""

from collections import deque

__all__ = ["RefusalWindow", "ABUSE_REFUSALS"]

ABUSE_REFUSALS = 5


class RefusalWindow:
    """The times of one connection's recent refusals."""

    __slots__ = ("times", "limit")

    def __init__(self, limit=ABUSE_REFUSALS):
        self.times = deque()
        self.limit = limit

    def refuse(self, now, window):
        """Count a refusal at now; True when it is the limit-th within window seconds."""
        self.times.append(now)
        while self.times and self.times[0] < now - window:
            self.times.popleft()
        return len(self.times) >= self.limit
