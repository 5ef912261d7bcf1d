"""The server's periodic round (and `faceindex retention run`'s logic lives in service.erasure)."""

from __future__ import annotations

from faceindex.service.container import Services
from faceindex.service.context import operator
from faceindex.service.invoke import invoke


def housekeeping(services: Services) -> None:
    """Retention, where a collection has a retention period, through the service door as the server
    itself (each erasure audited), then a signed audit head over everything so far."""
    if any(p.retention_days is not None for p in services.store.collection_policies().values()):
        invoke(services, operator("server"), "RunRetention", {})
    services.audit.sign_head()
