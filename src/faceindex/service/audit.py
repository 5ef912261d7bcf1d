"""The audit log: one entry for every call that touches biometric data or access, written by the service
door in the same transaction as the change it records, chained, signed and checkpointed by signed tree
heads (`audit_chain`). Entries say who, what, when and with what result, never image bytes or
descriptors. The signing key (Ed25519) is sealed under the master key, as access-key secrets are.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from faceindex.service import audit_chain as chain
from faceindex.service.audit_merkle import MerkleTree
from faceindex.service.sealing import Sealer
from faceindex.store.base import Store
from faceindex.store.records import AuditColumns, AuditRow

SIGNING_KEY = "audit-signing-key"
HEAD_EVERY = 100  # a signed head every this many entries (and on `faceindex audit head`, and at shutdown)
PAGE = 1000  # rows read at a time when verifying or exporting


@dataclass(frozen=True)
class Filters:
    since: float | None = None
    until: float | None = None
    principal: str | None = None
    collection: str | None = None
    operation: str | None = None


class AuditLog:
    def __init__(self, store: Store, sealer: Sealer) -> None:
        self._store = store
        self._sealer = sealer
        self._signer: chain.AuditSigner | None = None
        self._lock = threading.Lock()

    def append(self, body: dict[str, Any]) -> int:
        """Add an entry (inside the caller's transaction, if one is open); returns its sequence number."""
        body = _recordable(body)
        signer = self.signer()
        columns = AuditColumns(
            float(body["time"]), str(body["principal"]), str(body["operation"]), body.get("collection")
        )

        def seal(seq: int, previous: bytes) -> AuditRow:
            entry = chain.seal_entry(seq, body, previous, signer)
            return AuditRow(seq, chain.canonical(body).decode(), entry.chain, entry.signature)

        row = self._store.append_audit(columns, seal)
        if row.seq % HEAD_EVERY == 0:
            self.sign_head()
        return row.seq

    def sign_head(self, now: float | None = None) -> chain.TreeHead | None:
        """A signed head over every entry so far, chained to the last one (None for an empty log). It
        reads only the entries after the last head: the head row keeps the tree's frontier."""
        with self._store.transaction(eager=True):  # one signer at a time, even across processes: heads chain
            return self._sign_head(now)

    def _sign_head(self, now: float | None) -> chain.TreeHead | None:
        heads = self._store.audit_heads()
        tree, previous = MerkleTree(), None
        if heads:
            size, text, frontier = heads[-1]
            previous = chain.TreeHead.from_json(text)
            tree = MerkleTree.restore(size, [bytes.fromhex(h) for h in json.loads(frontier)])
        last = self._store.audit_rows(tree.size - 1, 1) if tree.size else []
        if tree.size and (not last or last[0].seq != tree.size):
            return previous  # the entry the last head ends at is gone: nothing more is signed
        last_link = last[0].chain if last else chain.GENESIS
        for row in self._rows(after=tree.size):
            leaf = chain.entry_leaf(_body(row))
            if row.seq != tree.size + 1 or chain.link(last_link, leaf) != row.chain:
                break  # never sign over a gap or an altered entry: `audit verify` reports it
            tree.append(leaf)
            last_link = row.chain
        if tree.size == 0 or (previous is not None and previous.size == tree.size):
            return previous
        head = chain.sign_head(tree, time.time() if now is None else now, previous, self.signer())
        self._store.add_audit_head(tree.size, head.to_json(), json.dumps([h.hex() for h in tree.frontier]))
        return head

    def heads(self) -> list[chain.TreeHead]:
        return [chain.TreeHead.from_json(text) for _, text, _ in self._store.audit_heads()]

    def latest_head_json(self) -> str:
        """The newest head, with the log's public key: what an outside witness keeps."""
        head = self.sign_head()
        if head is None:
            raise LookupError("the audit log is empty")
        return head.to_json(public_key=self.public_key())

    def public_key(self) -> bytes:
        return self.signer().public_bytes()

    def verify(self, witness: chain.TreeHead | None = None) -> chain.Verdict:
        """The whole log checked against its key, its heads and (optionally) a witness's head."""
        entries = (_stored(row) for row in self._rows(after=0))
        return chain.verify(entries, self.heads(), self.public_key(), witness)

    def entries(self, filters: Filters = Filters()) -> Iterator[dict[str, Any]]:
        """Entries as JSON objects (with their `seq`), oldest first, filtered."""
        for row in self._rows(after=0, filters=filters):
            yield {"seq": row.seq, **_body(row)}

    def _rows(self, after: int, filters: Filters = Filters()) -> Iterator[AuditRow]:
        while rows := self._store.audit_rows(
            after,
            PAGE,
            since=filters.since,
            until=filters.until,
            principal=filters.principal,
            collection=filters.collection,
            operation=filters.operation,
        ):
            yield from rows
            after = rows[-1].seq

    def signer(self) -> chain.AuditSigner:
        with self._lock:
            if self._signer is None:
                self._signer = self._load_signer()
            return self._signer

    def _load_signer(self) -> chain.AuditSigner:
        context = SIGNING_KEY.encode()
        sealed = self._store.sealed_secret(SIGNING_KEY)
        if sealed is None:  # the first entry: make the key; two processes racing keep one
            fresh = self._sealer.seal(chain.AuditSigner.generate().private_bytes(), context)
            sealed = self._store.keep_sealed_secret(SIGNING_KEY, fresh)
        raw = self._sealer.open(sealed, context)
        if raw is None:
            raise RuntimeError("the audit signing key was sealed under another master key")
        return chain.AuditSigner.from_private_bytes(raw)


MOST_TEXT = 1024  # characters of one recorded string (a hostile request's member may be far longer)
MOST_ITEMS = 1000  # items of one recorded list


def _recordable(value: Any) -> Any:
    """The entry as it can be signed and read back: text from a hostile request (lone surrogates, megabytes)
    made valid UTF-8 and cut to size, lists cut to size."""
    if isinstance(value, str):
        text = value[:MOST_TEXT]
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {str(_recordable(k)): _recordable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_recordable(item) for item in list(value)[:MOST_ITEMS]]
    if isinstance(value, float) and value != value:  # NaN cannot be canonical JSON
        return None
    return value


def _body(row: AuditRow) -> dict[str, Any]:
    try:
        body = json.loads(row.body)
    except ValueError:  # altered into something that is not JSON: verify reports it; show it as text
        return {"unreadable": row.body}
    return body if isinstance(body, dict) else {"unreadable": row.body}


def _stored(row: AuditRow) -> chain.StoredEntry:
    return chain.StoredEntry(row.seq, _body(row), row.chain, row.signature)
