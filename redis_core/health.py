"""Readiness of Redis for one event loop: a probe of its own, and events on change."""

import asyncio
import json
import logging
import time

from redis.exceptions import MaxConnectionsError, RedisError

from . import options

__all__ = ["RedisHealth", "LOST", "RESTORED", "RESTARTED"]

log = logging.getLogger("redis_core.health")

LOST = "lost"  # Redis stopped answering
RESTORED = "restored"  # it answers again after being lost
RESTARTED = "restarted"  # it answers with a new run_id: its memory is empty


class RedisHealth:
    """Probes Redis every INTERVAL seconds (INFO server), tracks run_id, tells listeners."""

    INTERVAL = 1.0
    RETRY_INTERVAL = 0.25
    PROBE_TIMEOUT = 1.0

    def __init__(self, client, on_error=None, loss_grace=options.LOSS_GRACE, own=None):
        self.client = client
        # own: a client holding one connection of the pool for the monitor alone. A probe
        # through the shared pool that times out (or finds it full) may only mean that a
        # storm holds every connection; `own` then tells whether Redis answers, so that a
        # busy pool is not taken for a lost Redis (which would close every socket with 4012
        # and make the storm worse).
        self.own = own
        self.busy_pool_probes = 0  # probes that timed out in the pool while Redis answered
        # Redis is declared lost after failing this long (REDIS_LOSS_GRACE): a restart or
        # a failover that takes less is healed in place (RESTARTED) instead of closing
        # every socket; more, and sockets get 4012.
        self.loss_grace = loss_grace
        self.ready = False
        self.run_id = None
        self._on_error = on_error or (lambda: None)
        self._ready_event = asyncio.Event()
        self._kick = asyncio.Event()
        self._listeners = []
        self._task = None
        self._failing_since = None
        # For the metrics: outages that began (each opens a loss grace), new run_ids seen
        # (a failover to another primary, or a restart), the latest outage's length.
        self.grace_entries = 0
        self.primary_changes = 0
        self.last_recovery_seconds = None

    def add_listener(self, callback):
        """callback(event) is called with LOST, RESTORED or RESTARTED."""
        self._listeners.append(callback)

    def remove_listener(self, callback):
        if callback in self._listeners:
            self._listeners.remove(callback)

    def start(self):
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="redis-health")

    def stop(self):
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def wait_ready(self, timeout):
        """True as soon as Redis answers; False after timeout seconds without."""
        self.start()
        if self.ready:
            return True
        try:
            await asyncio.wait_for(self._ready_event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def report_failure(self, exc):
        """A command failed somewhere: probe now rather than at the next tick."""
        log.debug("event=redis_command_failed error=%r", exc)
        self._kick.set()

    async def probe(self):
        """One INFO server round trip; returns Redis's run_id (new after every restart)."""
        info = await asyncio.wait_for(self.client.info("server"), self.PROBE_TIMEOUT)
        return info.get("run_id")

    async def _own_answers(self):
        """True when Redis answers on the monitor's own connection (the same run_id)."""
        if self.own is None or self.run_id is None:
            return False
        try:
            info = await asyncio.wait_for(self.own.info("server"), self.PROBE_TIMEOUT)
        except (TimeoutError, RedisError, OSError):
            return False
        return info.get("run_id") == self.run_id

    async def _hold_own(self):
        """Take the own connection while the pool has room (at the first answer)."""
        if self.own is not None and self.own.connection is None:
            try:
                await asyncio.wait_for(self.own.initialize(), self.PROBE_TIMEOUT)
            except (TimeoutError, RedisError, OSError):
                pass  # taken at a later answer

    async def _run(self):
        while True:
            try:
                run_id = await self.probe()
            except (TimeoutError, MaxConnectionsError) as exc:
                if await self._own_answers():
                    self.busy_pool_probes += 1
                    log.info("event=redis_pool_busy reason=%s", type(exc).__name__)
                else:
                    self._failed(
                        f"no answer within {self.PROBE_TIMEOUT} s"
                        if isinstance(exc, TimeoutError)
                        else f"{type(exc).__name__}: {exc}"
                    )
            except (RedisError, OSError) as exc:
                self._failed(f"{type(exc).__name__}: {exc}")
            else:
                if self._failing_since is not None:
                    self.last_recovery_seconds = time.monotonic() - self._failing_since
                    self._failing_since = None
                self._mark_up(run_id)
                await self._hold_own()
            self._kick.clear()
            interval = (
                self.RETRY_INTERVAL if self._failing_since or not self.ready else self.INTERVAL
            )
            try:
                await asyncio.wait_for(self._kick.wait(), interval)
            except TimeoutError:
                pass

    def _failed(self, reason):
        self._on_error()
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
            if self.ready:
                self.grace_entries += 1
                log.warning(
                    "event=redis_failing grace_s=%s reason=%s", self.loss_grace, json.dumps(reason)
                )
        if now - self._failing_since >= self.loss_grace or not self.ready:
            self._mark_down(reason)

    def _mark_up(self, run_id):
        events = []
        if not self.ready:
            self.ready = True
            self._ready_event.set()
            if self.run_id is not None:
                events.append(RESTORED)
                log.info("event=redis_restored run_id=%s", run_id)
        if self.run_id is not None and run_id != self.run_id:
            self.primary_changes += 1
            events.append(RESTARTED)
            log.warning("event=redis_restarted old_run_id=%s run_id=%s", self.run_id, run_id)
        self.run_id = run_id
        for event in events:
            self._emit(event)

    def _mark_down(self, reason):
        if self.ready:
            self.ready = False
            self._ready_event.clear()
            log.warning("event=redis_lost reason=%s", json.dumps(reason))
            self._emit(LOST)

    def _emit(self, event):
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # a listener's bug must not stop the monitor
                log.exception("event=redis_health_listener_failed event_name=%s", event)
