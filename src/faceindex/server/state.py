"""What the server holds for its lifetime: the services, the access keys, limits and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

from faceindex.auth.keys import KeyStore
from faceindex.server.limits import ConcurrencyLimit
from faceindex.server.metrics import Metrics
from faceindex.service.container import Services


@dataclass
class ServerState:
    services: Services
    keys: KeyStore
    metrics: Metrics
    limit: ConcurrencyLimit
    ready: bool = field(default=False)
