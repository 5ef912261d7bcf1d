"""Structured logs: one JSON line per request with its id, API, operation, outcome and duration.

Never image bytes, descriptors, request bodies or secrets: only names, codes and counts."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

REQUESTS = logging.getLogger("faceindex.requests")
SERVER = logging.getLogger("faceindex.api")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__  # the type only: tracebacks can quote data
        return json.dumps(entry)


def configure(level: str = "INFO") -> None:
    """Every line on stderr is one JSON object: our loggers at `level`; every other library's
    (uvicorn, the store's snapshot warnings, Pillow's TIFF and EXIF complaints) and Python's
    `warnings` through the root logger at WARNING, instead of their own plain-text lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for logger in (REQUESTS, SERVER):
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("faceindex").setLevel(level)
    logging.captureWarnings(True)  # warnings.warn(...) becomes a record of the "py.warnings" logger


def request_done(**fields: Any) -> None:
    REQUESTS.info("request", extra={"fields": fields})
