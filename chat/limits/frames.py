"""A per-connection budget for client frames: a token bucket in memory, no I/O.

Every frame a client sends costs tokens (reads from the database cost more than a ping);
the bucket refills at a steady rate up to its capacity. The sizes are such that a browser
following the contract never meets the limit (it pings every 25 s, relays typing at most
every 2 s, pages history on scroll, and resumes a few pages after a reconnect), while a
flood of cheap frames is answered with `rate_limited` after a burst and closed for abuse
soon after (chat.realtime.consumer).
"""

import asyncio
import time
import weakref
from collections import OrderedDict

from django.conf import settings

__all__ = ["FrameBudget", "cost_of", "read_budget", "CAPACITY", "REFILL_PER_SECOND", "COSTS"]

CAPACITY = 100.0
REFILL_PER_SECOND = 20.0
DEFAULT_RATE = (100, 5.0)  # CHAT_FRAME_BUDGET: 100 tokens, refilled over 5 s
# What each frame type costs; anything else (a bad frame, an unknown type) costs 1.
COSTS = {"history": 5.0, "resume": 10.0}


class FrameBudget:
    """Tokens of one connection: take(cost) spends them or says how long to wait."""

    __slots__ = ("tokens", "stamp", "capacity", "rate")

    @classmethod
    def from_settings(cls):
        """A budget sized by CHAT_FRAME_BUDGET (N/S: N tokens, refilled in S seconds), or
        None when the setting turns it off; read per connection."""
        rate = getattr(settings, "CHAT_FRAME_BUDGET", DEFAULT_RATE)
        if rate is None:
            return None
        tokens, seconds = rate
        return cls(float(tokens), tokens / seconds)

    def __init__(self, capacity=CAPACITY, rate=REFILL_PER_SECOND, now=None):
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = time.monotonic() if now is None else now

    def take(self, cost, now=None):
        """0.0 when cost was spent, else the seconds until it could be (nothing spent)."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return 0.0
        return (cost - self.tokens) / self.rate

    def refund(self, cost):
        """Give back cost (a frame that another limit already counts)."""
        self.tokens = min(self.capacity, self.tokens + cost)


def cost_of(kind):
    """The tokens a frame of type kind costs."""
    return COSTS.get(kind, 1.0)


# History read from the database (resume, history, a hello with ?since=) per client
# address in this process, in pages of 50 messages: 100 pages (5,000 messages) at once,
# then 10 per second. A per-connection budget alone would let a client reconnect for a
# fresh one; this one is shared by every socket of the address. A browser reads one page
# per scroll and a few after a reconnect.
READ_CAPACITY = 100.0
READ_REFILL_PER_SECOND = 10.0
PAGE = 50
MAX_ADDRESSES = 10_000  # least recently used addresses beyond this are forgotten

_reads = weakref.WeakKeyDictionary()


def pages(messages):
    """The read budget's cost of a reply of up to messages messages."""
    return max(1.0, messages / PAGE)


def read_budget(bucket):
    """The database-read budget of a client address (chat.limits.connections.ip_bucket) on the
    running event loop; None for an unknown address (then only the socket's own counts)."""
    if bucket is None:
        return None
    loop = asyncio.get_running_loop()
    budgets = _reads.get(loop)
    if budgets is None:
        budgets = _reads[loop] = OrderedDict()
    found = budgets.get(bucket)
    if found is None:
        found = budgets[bucket] = FrameBudget(READ_CAPACITY, READ_REFILL_PER_SECOND)
        if len(budgets) > MAX_ADDRESSES:
            budgets.popitem(last=False)
    else:
        budgets.move_to_end(bucket)
    return found
