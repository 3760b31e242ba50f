"""Backpressure: a bounded count of messages in flight (fetched, not yet acknowledged)."""
from __future__ import annotations

import asyncio


class InFlight:
    """`take(n)` waits until at least one slot is free and takes up to n; `give(k)` returns
    slots. At most `limit` are ever taken: the service never holds more unacknowledged
    messages, so when the output is slow or down, fetching waits and memory stays bounded."""

    def __init__(self, limit: int, on_change=None):
        self.limit = limit
        self.taken = 0
        self._cond = asyncio.Condition()
        self._on_change = on_change

    async def take(self, n: int) -> int:
        async with self._cond:
            await self._cond.wait_for(lambda: self.taken < self.limit)
            k = min(n, self.limit - self.taken)
            self.taken += k
            self._changed()
            return k

    async def give(self, k: int) -> None:
        if not k:
            return
        async with self._cond:
            self.taken -= k
            assert self.taken >= 0
            self._changed()
            self._cond.notify_all()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.taken)
