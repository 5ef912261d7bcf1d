"""What the server holds for its lifetime: the services, the access keys, limits and metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faceindex import heap
from faceindex.api.limits import ConcurrencyLimit
from faceindex.api.metrics import Metrics
from faceindex.service.container import Services
from faceindex.service.keys import KeyStore


@dataclass
class ServerState:
    services: Services
    keys: KeyStore
    metrics: Metrics
    limit: ConcurrencyLimit
    ready: bool = field(default=False)

    async def run(self, work: Callable[..., Any], *args: Any) -> Any:
        """`work(services, *args)` in a worker thread under the concurrency limit, counted in flight."""
        self.metrics.in_flight.inc()
        resident_before = heap.resident_bytes()
        try:
            return await self.limit.run(work, self.services, *args)
        finally:
            self.metrics.in_flight.dec()
            heap.trim_if_grown(resident_before)  # a large image's memory goes back to the system
