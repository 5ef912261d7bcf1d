"""Face rows <-> FaceRecord, shared by the store's modules."""

from __future__ import annotations

import numpy as np

from faceindex.store.records import FaceRecord
from faceindex.types import BoundingBox

FACE_COLUMNS = (
    "id, face_id, image_id, external_image_id, box_width, box_height, box_left, box_top, confidence, "
    "model_version, user_id"
)


def face_record(row: tuple[object, ...]) -> FaceRecord:
    descriptor = None
    if len(row) > 11:
        descriptor = np.frombuffer(row[11], "<f4").astype(np.float32)  # type: ignore[call-overload]
    return FaceRecord(
        row_id=int(row[0]),  # type: ignore[call-overload]
        face_id=str(row[1]),
        image_id=str(row[2]),
        external_image_id=row[3],  # type: ignore[arg-type]
        box=BoundingBox(Width=row[4], Height=row[5], Left=row[6], Top=row[7]),  # type: ignore[arg-type]
        confidence=float(row[8]),  # type: ignore[arg-type]
        model_version=str(row[9]),
        user_id=row[10],  # type: ignore[arg-type]
        descriptor=descriptor,
    )
