"""Builds everything once: the face engine, the store and the vector indexes. Adapters (CLI,
server) create one `Services` and pass it to the service functions."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from faceindex.config import Settings
from faceindex.errors import FaceIndexError
from faceindex.models.pack import PACK_NAME
from faceindex.pipeline import FaceAnalyzer, FaceEngine
from faceindex.service.audit import AuditLog
from faceindex.service.sealing import Sealer
from faceindex.store.base import Store
from faceindex.store.indexes import CollectionIndexes
from faceindex.store.registry import open_store

LOG = logging.getLogger("faceindex.service")


@dataclass
class Services:
    settings: Settings
    engine: FaceAnalyzer
    store: Store
    indexes: CollectionIndexes
    sealer: Sealer = field(init=False)
    audit: AuditLog = field(init=False)

    def __post_init__(self) -> None:
        self.sealer = Sealer(self.settings.data_dir)
        self.audit = AuditLog(self.store, self.sealer)

    @property
    def face_model_version(self) -> str:
        return PACK_NAME

    def collection_arn(self, name: str) -> str:
        return f"arn:aws:rekognition:{self.settings.region}:{self.settings.account_id}:collection/{name}"

    def close(self) -> None:
        self.indexes.save()
        try:
            self.audit.sign_head()  # the log's state at shutdown, signed
        except FaceIndexError as error:  # a full disk: the entries are written, their next head comes later
            LOG.warning(f"audit head not signed at shutdown ({error.code})")
        self.store.close()


def open_services(settings: Settings, engine: FaceAnalyzer | None = None, store: str = "sqlite") -> Services:
    """`store`: "sqlite" in the data folder (with index snapshots beside it) or "memory" (no files:
    with `models.fake.FakeEngine`, the fast test tier)."""
    opened = open_store(store, settings.data_dir, settings.max_db_bytes)
    snapshots = settings.data_dir / "indexes" if store == "sqlite" else None
    indexes = CollectionIndexes(opened, snapshots, settings.vector_index)
    return Services(settings, engine or FaceEngine(settings), opened, indexes)
