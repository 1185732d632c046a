"""Refusing what is over a limit, for one socket (a mixin of ChatConsumer): the frame
budget of the connection, the read budget of its address, and the contract's 4429 after
five `rate_limited` refusals within a window (then a wait before reconnecting)."""

import time

from .. import metrics, protocol
from ..limits import connections as connlimit
from ..limits import frames
from ..limits.abuse import RefusalWindow
from ..protocol import CloseCode

__all__ = ["Throttled", "ABUSE_WINDOW"]

ABUSE_WINDOW = 10.0  # seconds: refusals of the frame budgets counted for abuse


class Throttled:
    """Needs: self.budget and self.refusals (None until first used), self.address,
    self.user, self.scope, self.send_error() and self.close_with()."""

    async def refuse(self, wait, window, detail=None):
        """Answer rate_limited; the 5th refusal within window closes with 4429 (and the
        client is refused new sockets for a while)."""
        if self.refusals is None:
            self.refusals = RefusalWindow()
        abuse = self.refusals.refuse(time.monotonic(), window)
        detail = detail or f"Too many messages; try again in {wait:g} s."
        await self.send_error("rate_limited", detail, retry_after=round(wait, 3))
        if abuse:
            await self.close_with(CloseCode.ABUSE)
            await connlimit.penalise(self.user.pk, connlimit.client_ip(self.scope))

    async def spend(self, kind, cost=1.0):
        """Take cost from this connection's frame budget; False (and refused) when it is
        spent: a flood of frames, cheap or not, is answered and then closed for abuse."""
        if self.budget is None:
            self.budget = frames.FrameBudget.from_settings() or False
        if self.budget is False:
            return True  # CHAT_FRAME_BUDGET=0
        wait = self.budget.take(cost)
        if not wait:
            return True
        metrics.frames_refused.inc()
        what = f"'{kind}' frames" if kind else "frames"
        await self.refuse(
            max(wait, 0.001), ABUSE_WINDOW, f"Too many {what}; try again in {wait:.3g} s."
        )
        return False

    async def _read(self, command):
        """Take what command reads from the address's database-read budget; False (and
        refused) when the sockets of this address together read too much."""
        size = command.limit if command.kind == "history" else protocol.RESUME_MAX
        shared = frames.read_budget(self.address)
        wait = shared.take(frames.pages(size)) if shared is not None and self.budget else 0.0
        if not wait:
            return True
        metrics.frames_refused.inc()
        detail = f"Too many '{command.kind}' requests from your address; try again in {wait:.3g} s."
        await self.refuse(wait, ABUSE_WINDOW, detail)
        return False
