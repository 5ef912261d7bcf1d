"""Confidence and QualityFilter on clean photos (issue 11.4): the share of the celeba_people dev set's faces
that IndexFaces' default QualityFilter (AUTO) keeps, why it refuses the others, and Confidence's spread.

    .venv/bin/python bench/quality.py [--set ~/.cache/faceindex/devsets/celeba_people] [--photos 400]
        [--out bench/results/quality.json]

The photos are CelebA's "in the wild" portraits (one clear face each, mostly frontal, any light), drawn
evenly by a fixed seed; the largest face of each is the one judged, as IndexFaces with MaxFaces 1 would.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from faceindex.config import Settings  # noqa: E402
from faceindex.pipeline import FaceEngine  # noqa: E402
from faceindex.service.quality import rejection_reasons  # noqa: E402

DEFAULT_SET = Path.home() / ".cache" / "faceindex" / "devsets" / "celeba_people"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/quality.json")
    args = parser.parse_args()
    with open(args.set / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    random.Random(0).shuffle(rows)
    engine = FaceEngine(Settings())
    reasons: Counter[str] = Counter()
    confidences, yaws, pitches, kept, without_face = [], [], [], 0, 0
    for row in rows[: args.photos]:
        decoded = engine.decode(args.set / row["file"])
        faces = engine.analyze(decoded, embed=False)
        if not faces:
            without_face += 1
            continue
        face = faces[0].detail
        refused = rejection_reasons(face, decoded.width, decoded.height, "AUTO")
        kept += not refused
        reasons.update(refused)
        confidences.append(face.Confidence)
        if face.Pose is not None:
            yaws.append(abs(face.Pose.Yaw))
            pitches.append(abs(face.Pose.Pitch))
    found = len(confidences)
    report = {
        "set": str(args.set),
        "photos": args.photos,
        "faces_found": found,
        "without_a_face": without_face,
        "kept_by_auto": kept,
        "kept_share_of_found": round(kept / found, 4),
        "refusals": dict(reasons),
        "confidence_percentiles": {str(p): round(float(np.percentile(confidences, p)), 3) for p in (1, 5, 50)},
        "confidence_at_least_99": round(float(np.mean(np.asarray(confidences) >= 99.0)), 4),
        "median_abs_yaw": round(float(np.median(yaws)), 2),
        "median_abs_pitch": round(float(np.median(pitches)), 2),
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
