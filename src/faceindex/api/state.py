"""What the server holds for its lifetime: the services, the access keys, limits and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

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
