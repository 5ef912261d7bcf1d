"""The Rekognition operations faceindex serves: the service door's registry (service.operations), seen
from the wire protocol."""

from __future__ import annotations

from faceindex.service.operations import REKOGNITION, Handler

HANDLERS: dict[str, Handler] = {name: operation.run for name, operation in REKOGNITION.items()}

# Inputs accepted and not acted on, listed in docs/rekognition-compatibility.md.
IGNORED_MEMBERS: dict[str, dict[str, str]] = {}
