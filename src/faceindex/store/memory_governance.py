"""The in-memory rows of issue 13's safeguards (a mixin of `MemoryStore`, as `sqlite.governance` is of
`SqliteStore`): collection policies, the audit log and its heads, sealed secrets, last use, erasure."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from faceindex.store.records import AuditColumns, AuditRow, CollectionPolicy, CollectionRecord, ErasedFace

if TYPE_CHECKING:
    from faceindex.store.memory import _Collection

GENESIS = bytes(32)


@dataclass
class _Governance:
    policies: dict[str, CollectionPolicy] = field(default_factory=dict)
    audit: list[tuple[AuditColumns, AuditRow]] = field(default_factory=list)
    heads: dict[int, tuple[str, str]] = field(default_factory=dict)
    secrets: dict[str, bytes] = field(default_factory=dict)
    used: dict[int, float] = field(default_factory=dict)  # face row id -> last indexed or matched


class GovernanceRows:
    _lock: threading.RLock
    _collections: dict[str, _Collection]
    _governance: _Governance

    @contextlib.contextmanager
    def transaction(self, eager: bool = False) -> Iterator[None]:
        """One lock for the block (no rollback: a fake)."""
        with self._lock:
            yield

    def collection_policy(self, name: str) -> CollectionPolicy:
        with self._lock:
            return self._governance.policies.get(name, CollectionPolicy())

    def set_collection_policy(self, name: str, policy: CollectionPolicy) -> None:
        with self._lock:
            self._governance.policies[name] = policy

    def collection_policies(self) -> dict[str, CollectionPolicy]:
        with self._lock:
            return dict(self._governance.policies)

    def append_audit(self, columns: AuditColumns, seal: Callable[[int, bytes], AuditRow]) -> AuditRow:
        with self._lock:
            log = self._governance.audit
            seq, previous = (1, GENESIS) if not log else (log[-1][1].seq + 1, log[-1][1].chain)
            row = seal(seq, previous)
            log.append((columns, row))
            return row

    def audit_rows(
        self,
        after_seq: int,
        limit: int,
        since: float | None = None,
        until: float | None = None,
        principal: str | None = None,
        collection: str | None = None,
        operation: str | None = None,
    ) -> list[AuditRow]:
        with self._lock:
            rows = [
                row
                for columns, row in self._governance.audit
                if row.seq > after_seq
                and (since is None or columns.time >= since)
                and (until is None or columns.time < until)
                and (principal is None or columns.principal == principal)
                and (collection is None or columns.collection == collection)
                and (operation is None or columns.operation == operation)
            ]
            return rows[:limit]

    def audit_size(self) -> int:
        with self._lock:
            return self._governance.audit[-1][1].seq if self._governance.audit else 0

    def audit_heads(self) -> list[tuple[int, str, str]]:
        with self._lock:
            return [(size, *self._governance.heads[size]) for size in sorted(self._governance.heads)]

    def add_audit_head(self, size: int, head: str, frontier: str) -> None:
        with self._lock:
            self._governance.heads.setdefault(size, (head, frontier))

    def sealed_secret(self, name: str) -> bytes | None:
        with self._lock:
            return self._governance.secrets.get(name)

    def keep_sealed_secret(self, name: str, sealed: bytes) -> bytes:
        with self._lock:
            return self._governance.secrets.setdefault(name, sealed)

    def touch_faces(self, collection: CollectionRecord, face_ids: list[str], when: float) -> None:
        with self._lock:
            wanted = set(face_ids)
            for row_id, face in self._collections[collection.name].faces.items():
                if face.face_id in wanted:
                    self._governance.used[row_id] = when

    def unused_faces(self, collection: CollectionRecord, before: float, limit: int) -> list[str]:
        with self._lock:
            faces = self._collections[collection.name].faces
            used = self._governance.used
            stale = sorted((used.get(row_id, 0.0), row_id) for row_id in faces if used.get(row_id, 0.0) < before)
            return [faces[row_id].face_id for _, row_id in stale[:limit]]

    def erase_faces(
        self,
        collection: CollectionRecord | None,
        external_image_id: str | None = None,
        user_id: str | None = None,
        face_ids: list[str] | None = None,
    ) -> list[ErasedFace]:
        if external_image_id is None and user_id is None and face_ids is None:
            raise ValueError("erase_faces needs an ExternalImageId, a UserId or FaceIds")
        wanted = None if face_ids is None else set(face_ids)
        erased = []
        with self._lock:
            for name, stored in self._collections.items():
                if collection is not None and name != collection.name:
                    continue
                for row_id, face in list(stored.faces.items()):
                    if (
                        (external_image_id is None or face.external_image_id == external_image_id)
                        and (user_id is None or face.user_id == user_id)
                        and (wanted is None or face.face_id in wanted)
                    ):
                        del stored.faces[row_id]
                        self._governance.used.pop(row_id, None)
                        self._change(stored, row_id, added=False)
                        erased.append(ErasedFace(name, face))
                if user_id is not None:
                    stored.users.pop(user_id, None)
        return erased

    def _change(self, stored: _Collection, row_id: int, added: bool) -> None: ...

    def compact(self) -> bool:
        return True
