"""The one door every adapter calls: authorise -> policy (floors, purpose) -> idempotency -> run -> audit.

Rekognition's JSON protocol, the REST API, the CLI and the library turn their credentials into a
`Caller` and their request into Rekognition's members, then call `invoke`. The audit entry of a call
that changes data is written in the same transaction as the change (the store's transaction begins at
the first write, so a model's analysis before it holds no lock); refusals and failures are audited too.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from faceindex.errors import FaceIndexError, InvalidParameter
from faceindex.jsonable import to_jsonable
from faceindex.service import erasure, idempotency, policy
from faceindex.service.collections import collection_for_arn
from faceindex.service.container import Services
from faceindex.service.context import Caller
from faceindex.service.operations import OPERATIONS, Operation

DELETIONS = frozenset({"DeleteFaces", "DeleteCollection", "EraseFaces", "RunRetention"})
MOST_IDS = 1000  # FaceIds / UserIds named in one audit entry (a search returns at most 4096 matches)
REQUEST_MEMBERS = ("FaceId", "FaceIds", "UserId", "ExternalImageId", "MaxFaces", "MaxUsers", "QualityFilter")


@dataclass(frozen=True)
class Invoked:
    result: Any  # the use-case's answer (typed values; JSON-able when a remembered response)
    jsonable: Any  # the same as JSON-able values, made once for the audit entry and the HTTP answer
    threshold_asked: float | None = None  # a 1:N search's FaceMatchThreshold / UserMatchThreshold, as asked
    threshold_applied: float | None = None  # ... and as applied (higher when a floor raised it)
    audit_seq: int | None = None

    @property
    def raised(self) -> bool:
        return self.threshold_applied is not None and self.threshold_applied != self.threshold_asked


def refusal(caller: Caller, name: str) -> FaceIndexError | None:
    """The permission-class check alone (no I/O), for adapters that answer AccessDenied before they parse
    the request (Rekognition's order); `invoke` checks again with the collection."""
    try:
        policy.authorise(caller.principal, caller.grants, name, OPERATIONS[name].permission, None)
    except FaceIndexError as error:
        return error
    return None


def audit_refusal(services: Services, caller: Caller, name: str, error: FaceIndexError) -> None:
    operation = OPERATIONS[name]
    if operation.audited:
        services.audit.append(_Call(caller, operation, None, time.time()).entry({}, None, outcome=error.code))


def headers(invoked: Invoked) -> dict[str, str]:
    """Response headers every HTTP adapter adds: the call's audit entry (an erasure's receipt number), and
    a threshold a floor raised."""
    found = {} if invoked.audit_seq is None else {"x-faceindex-audit-entry": str(invoked.audit_seq)}
    if invoked.raised:
        found["x-faceindex-threshold-requested"] = f"{invoked.threshold_asked:g}"
        found["x-faceindex-threshold-applied"] = f"{invoked.threshold_applied:g}"
    return found


def invoke(services: Services, caller: Caller, name: str, params: dict[str, Any]) -> Invoked:
    operation = OPERATIONS.get(name)
    if operation is None:
        raise InvalidParameter(f"unknown operation {name}")
    started = time.time()
    collection = _collection_of(services, params)
    call = _Call(caller, operation, collection, started)
    try:
        policy.authorise(caller.principal, caller.grants, name, operation.permission, collection)
        params = call.apply_policy(services, params)
        eager = operation.idempotent and bool(params.get(idempotency.TOKEN_MEMBER))
        with services.store.transaction(eager=eager):  # eager: the token is checked and kept under one lock
            result = _run(services, operation, params)
            jsonable = to_jsonable(result)
            if collection is not None and operation.permission == "identify":
                _touch_matched(services, collection, jsonable, started)
            seq = services.audit.append(call.entry(params, jsonable)) if operation.audited else None
    except FaceIndexError as error:
        if operation.audited:
            services.audit.append(call.entry(params, None, outcome=error.code))
        raise
    if name in DELETIONS:
        erasure.scrub(services, {collection} if collection else _collections(jsonable))
    return Invoked(result, jsonable, call.asked, call.applied, seq)


def _run(services: Services, operation: Operation, params: dict[str, Any]) -> Any:
    if operation.idempotent and params.get(idempotency.TOKEN_MEMBER):  # a remembered answer is JSON
        return idempotency.once(services, operation.name, params, lambda: to_jsonable(operation.run(services, params)))
    return operation.run(services, params)


class _Call:
    """One call's facts for its audit entry, gathered as the door goes."""

    def __init__(self, caller: Caller, operation: Operation, collection: str | None, started: float) -> None:
        self.caller, self.operation, self.collection, self.started = caller, operation, collection, started
        self.asked: float | None = None
        self.applied: float | None = None

    def apply_policy(self, services: Services, params: dict[str, Any]) -> dict[str, Any]:
        """A 1:N search's threshold raised to the floors, and the purpose a collection may require."""
        if self.operation.permission != "identify" or self.collection is None:
            return params
        rules = services.store.collection_policy(self.collection)
        policy.require_purpose(self.caller.principal, rules, self.collection, self.caller.stated_purpose)
        member = self.operation.threshold
        if member is None:
            return params
        asked = params.get(member)
        self.asked = float(self.operation.default_threshold if asked is None else asked)  # type: ignore[arg-type]
        floor = policy.floor(self.caller.grants, rules)
        self.applied = max(self.asked, floor) if floor is not None else self.asked
        return {**params, member: self.applied} if self.applied != self.asked else params

    def entry(self, params: dict[str, Any], result: Any, outcome: str = "ok") -> dict[str, Any]:
        caller = self.caller
        body: dict[str, Any] = {
            "time": self.started,
            "request_id": caller.request_id,
            "principal": caller.principal,
            "channel": caller.channel,
            "operation": self.operation.name,
            "permission": self.operation.permission,
            "collection": self.collection,
            "outcome": outcome,
        }
        request = {m: params[m] for m in REQUEST_MEMBERS if params.get(m) is not None}
        if request:
            body["request"] = request
        if self.asked is not None:
            body["threshold"] = {"asked": self.asked, "applied": self.applied}
        if caller.stated_purpose:
            body["purpose"] = caller.stated_purpose
        if result is not None:
            body |= _result_facts(result)
        return body


def _collection_of(services: Services, params: dict[str, Any]) -> str | None:
    """The collection a call touches: named, by its ARN, or (a video job's Get) the one its Start searched,
    so a key limited to collections is held to them there too."""
    if isinstance(params.get("CollectionId"), str):
        return str(params["CollectionId"])
    if isinstance(params.get("JobId"), str):
        job = services.store.job(params["JobId"])
        searched = json.loads(job.request).get("CollectionId") if job is not None else None
        return str(searched) if isinstance(searched, str) else None
    arn = params.get("ResourceArn")
    if isinstance(arn, str):
        try:
            return collection_for_arn(services, arn).name
        except FaceIndexError:
            return None
    return None


def _result_facts(result: Any) -> dict[str, Any]:
    """What the answer did, in ids and counts: never bytes, descriptors or secrets."""
    facts: dict[str, Any] = {}
    if isinstance(result, dict):
        for member in ("FaceMatches", "UserMatches", "FaceDetails", "FaceRecords", "ErasedFaces"):
            if isinstance(result.get(member), list):
                facts[_snake(member)] = len(result[member])
        if isinstance(result.get("DeletedFaces"), list):
            facts["deleted_faces"] = len(result["DeletedFaces"])
    face_ids, user_ids = _ids(result, "FaceId"), _ids(result, "UserId")
    if isinstance(result, dict) and isinstance(result.get("DeletedFaces"), list):
        face_ids += [f for f in result["DeletedFaces"] if isinstance(f, str)]
    if face_ids:
        facts["face_ids"] = face_ids[:MOST_IDS]
    if user_ids:
        facts["user_ids"] = user_ids[:MOST_IDS]
    if isinstance(result, dict) and isinstance(result.get("AccessKeyId"), str):
        facts["access_key_id"] = result["AccessKeyId"]
    return facts


def _ids(value: Any, member: str) -> list[str]:
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, inner in item.items():
                if key == member and isinstance(inner, str):
                    found.append(inner)
                else:
                    walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)

    walk(value)
    return list(dict.fromkeys(found))


def _touch_matched(services: Services, collection: str, result: Any, when: float) -> None:
    """A match is an interaction: retention counts from the last one (the matched faces, or a matched
    user's faces)."""
    if not isinstance(result, dict):
        return
    record = services.store.collection(collection)
    face_ids = _ids(result.get("FaceMatches", []), "FaceId")
    for user_id in _ids(result.get("UserMatches", []), "UserId"):
        face_ids += [face.face_id for face in services.store.user_faces(record, user_id)]
    services.store.touch_faces(record, face_ids, when)


def _collections(result: Any) -> set[str]:
    if isinstance(result, dict) and isinstance(result.get("ErasedFaces"), list):
        return {e["CollectionId"] for e in result["ErasedFaces"] if isinstance(e, dict) and "CollectionId" in e}
    return set()


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
