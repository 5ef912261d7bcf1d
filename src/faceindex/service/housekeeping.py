"""The server's periodic round (and `faceindex retention run`'s logic lives in service.erasure)."""

from __future__ import annotations

import logging
import time

from faceindex.service import erasure
from faceindex.service.container import Services
from faceindex.service.context import operator
from faceindex.service.invoke import invoke

LOG = logging.getLogger("faceindex.service")


def housekeeping(services: Services) -> None:
    """Retention, where a collection has a retention period, through the service door as the server
    itself (each erasure audited), then a signed audit head over everything so far."""
    if erasure.anything_past_retention(services, time.time()):  # a round with nothing to do leaves no entry
        invoke(services, operator("server"), "RunRetention", {})
    services.audit.sign_head()
    if not services.store.compact():  # a deletion's WAL truncation that readers delayed is done now
        LOG.warning("the database's WAL could not be truncated (a long reader); the next round retries")
