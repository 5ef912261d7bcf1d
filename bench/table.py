"""Print the README table for bench/results/pipeline.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench/results/pipeline.json"
    results = json.loads(path.read_text())
    print("| set (images, mean MP) | pipeline | median ms | p95 ms | images/s | faces |")
    print("|---|---|---|---|---|---|")
    for name, entry in results["sets"].items():
        label = f"{name} ({entry['images']}, {entry['megapixels']})"
        for runner, stats in entry.items():
            if isinstance(stats, dict) and "median_ms" in stats:
                row = [label, runner, stats["median_ms"], stats["p95_ms"], stats["images_per_s"], stats["faces"]]
                print("| " + " | ".join(str(v) for v in row) + " |")
    print()
    print("| set | faces in the union | faceindex recall | face_recognition CNN (upsample 1) recall |")
    print("|---|---|---|---|")
    for name, entry in results["sets"].items():
        if "recall" in entry:
            r = entry["recall"]
            print(f"| {name} | {r['union_faces']} | {r['faceindex_recall']} | {r['face_recognition_cnn_recall']} |")
    machine = results["machine"]
    print(
        f"\nMachine: {machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']}, "
        f"onnxruntime {machine['onnxruntime']}, dlib {machine['dlib']}."
    )


if __name__ == "__main__":
    main()
