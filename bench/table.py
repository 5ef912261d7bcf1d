"""Print the README tables for bench/results/pipeline.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench/results/pipeline.json"
    results = json.loads(path.read_text())
    sets = results["sets"]
    print("Detect + landmarks + 128-D descriptors, per image:\n")
    print("| photos (count, mean MP) | pipeline | median ms | p95 ms | images/s | faces |")
    print("|---|---|---|---|---|---|")
    for name, entry in sets.items():
        label = f"{name} ({entry['images']}, {entry['megapixels']})"
        for runner, s in entry["pipelines"].items():
            print(f"| {label} | {runner} | {s['median_ms']} | {s['p95_ms']} | {s['images_per_s']} | {s['faces']} |")
    print("\nDetectors alone, and recall against face_recognition's CNN detector (upsample 1):\n")
    print("| photos | detector | median ms | ms per MP (median) | faces | CNN's faces found | further faces |")
    print("|---|---|---|---|---|---|---|")
    for name, entry in sets.items():
        for runner, s in entry["detectors"].items():
            r = s.get("against_face_recognition_cnn")
            found = f"{r['found']}/{r['reference_faces']}" if r else "-"
            further = str(r["further_faces"]) if r else "-"
            row = [name, runner, s["median_ms"], s["median_ms_per_megapixel"], s["faces"], found, further]
            print("| " + " | ".join(str(v) for v in row) + " |")
    m = results["machine"]
    print(
        f"\nMachine: {m['cpus']} CPUs ({m['platform']}), Python {m['python']}, "
        f"onnxruntime {m['onnxruntime']}, dlib {m['dlib']}."
    )


if __name__ == "__main__":
    main()
