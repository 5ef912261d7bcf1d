"""Builds everything once: the face engine, the store and the vector indexes. Adapters (CLI,
server) create one `Services` and pass it to the service functions."""

from __future__ import annotations

from dataclasses import dataclass

from faceindex.config import Settings
from faceindex.models.pack import PACK_NAME
from faceindex.pipeline import FaceEngine
from faceindex.store.indexes import CollectionIndexes
from faceindex.store.sqlite.store import SqliteStore


@dataclass
class Services:
    settings: Settings
    engine: FaceEngine
    store: SqliteStore
    indexes: CollectionIndexes

    @property
    def face_model_version(self) -> str:
        return PACK_NAME

    def collection_arn(self, name: str) -> str:
        return f"arn:aws:rekognition:{self.settings.region}:{self.settings.account_id}:collection/{name}"

    def close(self) -> None:
        self.indexes.save()
        self.store.close()


def open_services(settings: Settings, engine: FaceEngine | None = None) -> Services:
    store = SqliteStore(settings.data_dir / "faceindex.db", max_bytes=settings.max_db_bytes)
    indexes = CollectionIndexes(store, settings.data_dir / "indexes", settings.vector_index)
    return Services(settings, engine or FaceEngine(settings), store, indexes)
