"""Print the README tables for bench/results/pipeline.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "pipeline"
    if which == "search":
        search_tables(json.loads((ROOT / "bench/results/search.json").read_text()))
    elif which == "detection":
        detection_table(json.loads((ROOT / "bench/results/detection.json").read_text()))
    elif which == "identification":
        identification_tables(json.loads((ROOT / "bench/results/identification.json").read_text()))
    elif which == "server":
        server_table(json.loads((ROOT / "bench/results/server.json").read_text()))
    elif which == "video":
        video_table(json.loads((ROOT / "bench/results/video.json").read_text()))
    else:
        pipeline_tables(json.loads((ROOT / "bench/results/pipeline.json").read_text()))


def detection_table(results: dict[str, Any]) -> None:
    bands = ["0-24", "24-40", "40-80", "80-160", "160+"]
    categories = ["tight", "gray_scan", "small", "crowd", "profile_tilt"]
    print(
        "| detector | "
        + " | ".join(f"{b} px" for b in bands)
        + " | "
        + " | ".join(categories)
        + " | false pos. | ms/MP |"
    )
    print("|---|" + "---|" * (len(bands) + len(categories) + 2))
    for name, row in results["detectors"].items():
        size = [f"{row['recall_by_size'][b]['recall']:.2f}" for b in bands]
        kind = [f"{row['recall_by_category'][c]['recall']:.2f}" for c in categories]
        fp = f"{row['false_positives']} in {row['face_free_images_with_a_detection']}"
        print(f"| {name} | " + " | ".join(size + kind) + f" | {fp} | {row['ms_per_mp_median']:.0f} |")
    faces = results["detectors"][next(iter(results["detectors"]))]["recall_by_size"]
    counts = ", ".join(f"{b} px: {faces[b]['faces']}" for b in bands)
    print(
        f"\n{results['images']} photos, {results['faces']} faces ({counts}); recall at IoU >= {results['match_iou']}."
    )


def server_table(results: dict[str, Any]) -> None:
    print("| operation | clients | in-process req/s | p50 ms | p99 ms | server req/s | p50 ms | p99 ms | overhead |")
    print("|---|---|---|---|---|---|---|---|---|")
    for op, by_clients in results["operations"].items():
        for clients, entry in by_clients.items():
            local, server = entry["in_process"], entry["server"]
            print(
                f"| {op} | {clients} | {local['per_second']} | {local['p50_ms']} | {local['p99_ms']} | "
                f"{server['per_second']} | {server['p50_ms']} | {server['p99_ms']} | {entry['overhead'] * 100:.1f}% |"
            )
    m = results["machine"]
    print(
        f"\nMachine: {m['cpus']} CPUs, Python {m['python']}; {results['settings']['seconds']:.0f} s per cell, "
        f"server limits: {results['settings']['max_in_flight']} requests in flight, SigV4 on."
    )


def video_table(results: dict[str, Any]) -> None:
    """bench/video.py: per clip, faceindex end to end (x real time), then the paired per-frame runs."""
    print(
        "| clip | sampled frames | faceindex end to end s (x real time) | runner | frames/s | ms/frame | faces | "
        "speed vs face_recognition |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, clip in results["clips"].items():
        video = clip["video"]
        name = f"{label} ({video['width']}x{video['height']}, {video['duration_s']:.1f} s)"
        e2e = f"{clip['seconds']} ({clip['times_real_time']}x)"
        runs = clip["paired"]
        peer = next(v for k, v in runs.items() if k.startswith("face_recognition"))
        for runner, r in runs.items():
            ratio = f"{peer['seconds'] / r['seconds']:.2f}x"
            print(
                f"| {name} | {clip['sampled_frames']} | {e2e} | {runner} | {r['frames_per_s']} | {r['ms_per_frame']} | "
                f"{r['faces']} | {ratio} |"
            )
            name = e2e = ""
    m = results["machine"]
    print(
        f"\nSampling {results['sampling_fps']:g} frames a second. Machine: {m['cpus']} CPUs, Python {m['python']}, "
        f"onnxruntime {m['onnxruntime']}, OpenCV {m['opencv']}, face_recognition {m['face_recognition']} "
        f"(dlib {m['dlib']}); faceindex {m['faceindex_commit']}; load average {m['load_average_at_start'][0]} "
        f"at the start, {m['load_average_at_end'][0]} at the end (other work on the machine); {m['date']}."
    )


def search_tables(results: dict[str, Any]) -> None:
    """Two tables: each index at the narrowest search reaching recall@1 >= 0.99 (or its best), then
    the HNSW indexes side by side at every search breadth (the full sweep is in the JSON)."""
    print("| faces | index | build s | bytes/face | breadth | recall@1 | recall@10 | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in results["sizes"]:
        for label, entry in size["indexes"].items():
            sweep = entry["sweep"]
            chosen = next((b for b, s in sweep.items() if s["recall@1"] >= 0.99), None)
            if chosen is None:  # never reached: show the best recall
                chosen = max(sweep, key=lambda b: sweep[b]["recall@1"])
            s = sweep[chosen]
            mark = "" if s["recall@1"] >= 0.99 else " (best)"
            row = [f"{size['faces']:,}", label, entry["build_s"], round(entry["memory_bytes_per_face"]), chosen + mark,
                   s["recall@1"], s["recall@10"], s["p50_ms"], s["p99_ms"]]  # fmt: skip
            print("| " + " | ".join(str(v) for v in row) + " |")
    print("\n| faces | breadth | " + " | ".join(f"{name} recall@1 / p99 ms" for name in HNSW_LABELS) + " |")
    print("|---|---|" + "---|" * len(HNSW_LABELS))
    for size in results["sizes"]:
        indexes = size["indexes"]
        breadths = next((list(indexes[n]["sweep"]) for n in HNSW_LABELS if n in indexes), [])
        for breadth in breadths:
            cells = []
            for name in HNSW_LABELS:
                s = indexes.get(name, {}).get("sweep", {}).get(breadth)
                cells.append(f"{s['recall@1']} / {s['p99_ms']}" if s else "-")
            print(f"| {size['faces']:,} | {breadth} | " + " | ".join(cells) + " |")
    equal_recall_table(results)
    m = results["machine"]
    print(f"\nMachine: {m['cpus']} CPUs, usearch {m['usearch']}, faiss {m['faiss']}; single-query latency, one thread.")


RECALL_LEVELS = (0.9, 0.95, 0.98, 0.99)


def equal_recall_table(results: dict[str, Any]) -> None:
    """Latency at equal recall: each HNSW index's lowest p99 over the breadths reaching a recall@1."""
    print("\n| faces | recall@1 at least | " + " | ".join(f"{name} p99 ms" for name in HNSW_LABELS) + " |")
    print("|---|---|" + "---|" * len(HNSW_LABELS))
    for size in results["sizes"]:
        indexes = size["indexes"]
        if sum(name in indexes for name in HNSW_LABELS) < 2:
            continue
        for level in RECALL_LEVELS:
            cells = []
            for name in HNSW_LABELS:
                sweep = indexes.get(name, {}).get("sweep")
                reaching = [s["p99_ms"] for s in (sweep or {}).values() if s["recall@1"] >= level]
                cells.append("-" if sweep is None else str(min(reaching)) if reaching else "not reached")
            print(f"| {size['faces']:,} | {level} | " + " | ".join(cells) + " |")


HNSW_LABELS = [
    "faceindex hnsw (usearch int8 + exact re-rank)",
    "faiss IndexHNSWSQ 8-bit (+ the same re-rank)",
    "faiss IndexHNSWFlat",
]


def pipeline_tables(results: dict[str, Any]) -> None:
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


def identification_tables(results: dict[str, Any]) -> None:
    """bench/identification.py: before (descriptors before 12.1) and after, by gallery size."""
    before, after = results.get("before", {}).get("sizes", {}), results["after"]["sizes"]

    def pct(row: dict[str, Any] | None, *keys: str) -> str:
        value: Any = row
        for key in keys:
            value = None if value is None else value.get(key)
        return "-" if value is None else f"{100 * value:.1f}%"

    print(
        "| people in the gallery | FNIR at FPIR 1%, before → after | FNIR at FPIR 0.3%, before → after | "
        "at 80, raw distance: FPIR, FNIR (after) | at 80, calibrated: FPIR, FNIR, before → after | "
        "at 99, calibrated: FPIR, FNIR (after) | rank-1, before → after |"
    )
    print("|---|---|---|---|---|---|---|")
    for size, a in after.items():
        b = before.get(size)
        print(
            f"| {size} | {pct(b, 'fnir_at_fpir_0.01')} → {pct(a, 'fnir_at_fpir_0.01')} "
            f"| {pct(b, 'fnir_at_fpir_0.003')} → {pct(a, 'fnir_at_fpir_0.003')} "
            f"| {pct(a, 'raw@80', 'fpir')}, {pct(a, 'raw@80', 'fnir')} "
            f"| {pct(b, 'calibrated@80', 'fpir')}, {pct(b, 'calibrated@80', 'fnir')} → "
            f"{pct(a, 'calibrated@80', 'fpir')}, {pct(a, 'calibrated@80', 'fnir')} "
            f"| {pct(a, 'calibrated@99', 'fpir')}, {pct(a, 'calibrated@99', 'fnir')} "
            f"| {pct(b, 'rank1')} → {pct(a, 'rank1')} |"
        )
    print(
        "\n| people in the gallery | FNIR at FPIR 1%: distance, ratio d1/d2, znorm (top 50), FMR ratio | threshold at "
        "FPIR 1%: distance, ratio, znorm, log10 FMR ratio | FNIR at FPIR 0.3%: the same four | FMR ratio <= 0.01 "
        "(fixed): FPIR, FNIR | calibrated at 80: FPIR, FNIR |"
    )
    print("|---|---|---|---|---|---|")
    names = ("distance", "ratio", "znorm", "fmr_ratio")
    for size, a in after.items():
        if "ratio_fnir_at_fpir_0.01" not in a:
            continue
        at1 = ", ".join(pct(a, f"{n}_fnir_at_fpir_0.01") for n in names)
        limits = ", ".join(f"{a[f'{n}_threshold_at_fpir_0.01']:.3f}" for n in names)
        at03 = ", ".join(pct(a, f"{n}_fnir_at_fpir_0.003") for n in names)
        fixed = f"{pct(a, 'fmr_ratio@0.01', 'fpir')}, {pct(a, 'fmr_ratio@0.01', 'fnir')}"
        calibrated = f"{pct(a, 'calibrated@80', 'fpir')}, {pct(a, 'calibrated@80', 'fnir')}"
        print(f"| {size} | {at1} | {limits} | {at03} | {fixed} | {calibrated} |")
    run = results["after"]
    print(
        f"\n{run['stranger_probes']} non-mated searches (strangers, not in the calibration) and the gallery people's "
        f"other photos, {run['repeats']} draws per size; calibration: {run['calibration'].get('engine')}, "
        f"{run['calibration'].get('date')}; {run['machine']['date']}."
    )


if __name__ == "__main__":
    main()
