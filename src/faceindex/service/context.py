"""Who is calling: every adapter (Rekognition JSON, REST, CLI, library) turns its credentials into a
`Caller` and hands it to `service.invoke`, which authorises, applies policy and audits with it."""

from __future__ import annotations

import getpass
import uuid
from dataclasses import dataclass, field

from faceindex.service.policy import Grants


@dataclass(frozen=True)
class Caller:
    principal: str  # an access key id, "cli:<user>" for the command line, "anonymous" without auth
    channel: str  # "rekognition", "rest", "cli", "library"
    grants: Grants
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    purpose: str | None = None  # stated with this request (the X-Faceindex-Purpose header)

    @property
    def stated_purpose(self) -> str | None:
        """The request's purpose, else the key's."""
        return self.purpose or self.grants.purpose


def operator(channel: str = "cli", purpose: str | None = None) -> Caller:
    """Whoever runs the CLI or the library on the data folder: they can read its files, so they may do
    everything (including administration); they are named in the audit log by their login."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        user = "unknown"
    return Caller(f"{channel}:{user}", channel, Grants.operator(), purpose=purpose)


def anonymous(channel: str) -> Caller:
    """A server started with --no-auth (loopback only): every permission but administration."""
    return Caller("anonymous", channel, Grants.everything())
