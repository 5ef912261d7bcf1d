"""The PNG plots of `faceindex eval`: DET curve, score histograms with the thresholds, FNIR by gallery size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from faceindex.analysis.similarity import distance_for

THRESHOLDS = {"CompareFaces 80": distance_for(80.0), "CompareFaces 99": distance_for(99.0)}


def draw(curves: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    written = []
    mated, non_mated = curves["mated"], curves["non_mated"]
    if len(mated) and len(non_mated):
        grid = np.quantile(np.concatenate([mated, non_mated]), np.linspace(0, 1, 400))
        fmr = np.array([(non_mated <= t).mean() for t in grid])
        fnmr = np.array([(mated > t).mean() for t in grid])
        keep = (fmr > 0) & (fnmr > 0)
        figure, axes = plt.subplots(figsize=(6, 5))
        axes.loglog(fmr[keep], fnmr[keep])
        axes.set(xlabel="false match rate (FMR)", ylabel="false non-match rate (FNMR)", title="DET curve")
        axes.grid(True, which="both", alpha=0.3)
        written.append(_save(figure, out / "det.png"))

        figure, axes = plt.subplots(figsize=(7, 4))
        bins = np.linspace(0, max(float(np.quantile(non_mated, 0.999)), float(mated.max())), 80).tolist()
        axes.hist(non_mated, bins=bins, density=True, alpha=0.6, label="two people (non-mated)")
        axes.hist(mated, bins=bins, density=True, alpha=0.6, label="one person (mated)")
        for name, distance in THRESHOLDS.items():
            axes.axvline(distance, linestyle="--", color="black", linewidth=1)
            axes.text(distance, axes.get_ylim()[1] * 0.9, f" {name}", rotation=90, va="top", fontsize=8)
        axes.set(xlabel="descriptor distance", ylabel="density", title="Scores of mated and non-mated pairs")
        axes.legend()
        written.append(_save(figure, out / "scores.png"))

    sizes = curves.get("fnir_by_gallery_size", {}).get("sizes", {})
    if sizes:
        figure, axes = plt.subplots(figsize=(6, 4))
        xs = [int(s) for s in sizes]
        for point in next(iter(sizes.values())):
            axes.semilogx(xs, [sizes[str(x)][point] for x in xs], marker="o", label=f"FPIR {point}")
        axes.set(xlabel="people in the gallery", ylabel="FNIR (missed)", title="FNIR by gallery size", ylim=(0, 1))
        axes.legend()
        axes.grid(True, which="both", alpha=0.3)
        written.append(_save(figure, out / "fnir_by_gallery_size.png"))
    return written


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path
