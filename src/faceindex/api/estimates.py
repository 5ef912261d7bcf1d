"""faceindex's false-match estimates beside Similarity (docs/responsible-use.md).

Every match the services return carries `FalseMatchRate`: for a search, the chance that someone not in
the collection is matched this closely (FPIR at that score and collection size); for CompareFaces, the
share of strangers' faces this similar. Rekognition's response shapes have no room for it, so the
Rekognition endpoint sends the rates in a header, in the order of the matches; the REST API puts
them in each match as well.
"""

from __future__ import annotations

from typing import Any

HEADER = "x-faceindex-false-match-rates"
MATCH_LISTS = ("FaceMatches", "UserMatches")
MEMBER = "FalseMatchRate"


def rates(result: Any) -> list[float | None] | None:
    """The rates of a jsonable result's matches, or None when it has no list of matches."""
    if not isinstance(result, dict):
        return None
    for name in MATCH_LISTS:
        if isinstance(result.get(name), list):
            return [match.get(MEMBER) for match in result[name] if isinstance(match, dict)]
    return None


def headers(result: Any) -> dict[str, str]:
    found = rates(result)
    if found is None or any(rate is None for rate in found):
        return {}
    return {HEADER: ",".join(f"{rate:.3g}" for rate in found)}


def merged(conformed: Any, result: Any) -> Any:
    """`conformed` (the response shape) with each match's rate put back from `result`."""
    if isinstance(conformed, dict) and isinstance(result, dict):
        for name in MATCH_LISTS:
            for out, match in zip(conformed.get(name) or [], result.get(name) or [], strict=False):
                if isinstance(match, dict) and match.get(MEMBER) is not None:
                    out[MEMBER] = match[MEMBER]
    return conformed
