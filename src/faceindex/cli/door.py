"""The CLI's way through the service door: as the operator (`cli:<login>`), with Rekognition's members."""

from __future__ import annotations

from typing import Any

from faceindex.service.container import Services
from faceindex.service.context import operator
from faceindex.service.invoke import invoke


def call(services: Services, operation: str, params: dict[str, Any]) -> Any:
    """The operation's result; members that are None are left out (the operation's defaults apply)."""
    members = {name: value for name, value in params.items() if value is not None}
    return invoke(services, operator(), operation, members).result
