"""Back-pressure: a fixed number of requests run (in worker threads: the engine is blocking code
that releases the GIL), a bounded number wait, and the rest are turned away at once with
ThrottlingException, which every AWS SDK retries with back-off. Under overload the server keeps
answering instead of queueing without bound."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from faceindex.errors import Throttled

T = TypeVar("T")


class ConcurrencyLimit:
    def __init__(self, in_flight: int, waiting: int) -> None:
        self._limiter = anyio.CapacityLimiter(in_flight)
        self._in_flight, self._waiting = in_flight, waiting
        self._admitted = 0
        self._closed = False

    def close(self) -> None:
        """From now on, work that has not started is refused (at shutdown, once its answer was sent)."""
        self._closed = True

    @property
    def busy(self) -> int:
        return int(self._limiter.borrowed_tokens)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        # counted here rather than from the limiter's statistics: a task admitted in the same event
        # loop turn has not reached the limiter's queue yet
        if self._admitted >= self._in_flight + self._waiting:
            raise Throttled(
                f"Rate exceeded: {self._in_flight} requests are running and {self._waiting} waiting; retry later."
            )
        self._admitted += 1
        try:
            return await anyio.to_thread.run_sync(self._unless_closed, function, *args, limiter=self._limiter)
        finally:
            self._admitted -= 1

    def _unless_closed(self, function: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise Throttled("The server is shutting down; retry the request.")
        return function(*args)
