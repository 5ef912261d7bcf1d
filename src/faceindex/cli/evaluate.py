"""`faceindex eval DIR --out OUT`: how accurate faceindex is on your own labelled photos (issue 12.4)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from faceindex.cli import exits, output
from faceindex.cli.files import IMAGE_SUFFIXES
from faceindex.errors import FaceIndexError, InvalidParameter
from faceindex.pipeline import FaceEngine
from faceindex.service import evaluation, evaluation_plots

COMMANDS = ("eval",)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    command = commands.add_parser(
        "eval",
        help="verification and identification error rates on your labelled photos, with plots",
        description="DIR holds one folder of photos per person, or is a CSV of image,person[,group] (paths"
        " relative to the CSV). Writes OUT/report.json, OUT/report.md and PNG plots (DET curve, score"
        " histograms, FNIR by gallery size); with a group column, error rates per group at one global"
        " threshold with bootstrap 95%% intervals.",
    )
    command.add_argument("source", type=Path, metavar="DIR", help="a folder of person folders, or a CSV")
    command.add_argument("--out", type=Path, required=True, metavar="OUT", help="folder for the report and plots")


def run(engine: FaceEngine, args: argparse.Namespace) -> int:
    labelled = _labelled_photos(args.source)
    if len({person for _, person, _ in labelled}) < 2:
        raise InvalidParameter(f"{args.source}: eval needs photos of at least two people")
    photos = _descriptors(engine, labelled)
    report, curves = evaluation.evaluate(photos)
    report["source"] = str(args.source)
    report["engine"] = {"detector": engine.settings.detector, "landmarks": engine.settings.landmarks}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    plots = evaluation_plots.draw(curves, args.out)
    (args.out / "report.md").write_text(_markdown(report, plots))
    output.say(f"wrote {args.out / 'report.json'}, report.md and {output.plural(len(plots), 'plot')}")
    print(_summary(report))
    return exits.OK


def _labelled_photos(source: Path) -> list[tuple[Path, str, str | None]]:
    if source.is_file() and source.suffix.lower() == ".csv":
        with open(source, newline="") as handle:
            rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
        if rows and rows[0][:2] == ["image", "person"]:
            rows = rows[1:]
        return [(source.parent / r[0], r[1], r[2] if len(r) > 2 and r[2] else None) for r in rows if len(r) >= 2]
    if not source.is_dir():
        raise InvalidParameter(f"{source} is neither a folder nor a .csv file")
    return [
        (photo, person.name, None)
        for person in sorted(p for p in source.iterdir() if p.is_dir())
        for photo in sorted(p for p in person.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    ]


def _descriptors(engine: FaceEngine, labelled: list[tuple[Path, str, str | None]]) -> evaluation.Photos:
    """The service's descriptors (FaceEngine.analyze, the largest face), one photo at a time."""
    vectors, people, groups, missing = [], [], [], []
    for path, person, group in tqdm(labelled, desc="eval", unit="photo", file=sys.stderr, disable=len(labelled) < 2):
        try:
            faces = engine.analyze(path)
        except FaceIndexError as error:
            output.say(f"{path}: {error.code}: {error.message}")
            faces = []
        if faces and faces[0].descriptor is not None:
            vectors.append(faces[0].descriptor)
            people.append(person)
            groups.append(group)
        else:
            missing.append(str(path))
    return evaluation.Photos(np.asarray(vectors, np.float32).reshape(-1, 128), people, groups, missing)


def _summary(report: dict[str, Any]) -> str:
    v, i = report["verification"], report["identification"]
    fnmr = v["fnmr_at_fmr"].get("0.001")
    fnir = i["fnir_at_fpir"].get("0.01")
    return (
        f"{report['photos']} photos of {report['people']} people ({report['photos_without_a_face']} without a face):"
        f" EER {_percent(v['eer'])}, FNMR at FMR 0.1% {_percent(fnmr)};"
        f" rank-1 {_percent(i['rank1'])} and FNIR at FPIR 1% {_percent(fnir)} for a gallery of {i['gallery_size']}"
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _range(interval: list[float] | None) -> str:
    return "" if interval is None else f"({_percent(interval[0])} - {_percent(interval[1])})"


def _markdown(report: dict[str, Any], plots: list[Path]) -> str:
    v, i = report["verification"], report["identification"]
    lines = [
        "# faceindex eval",
        "",
        _summary(report) + ".",
        "",
        "## Verification (1:1)",
        "",
        f"Pairs: {v['pairs']['mated']:,} mated, {v['pairs']['non_mated']:,} non-mated"
        + (" (a random sample)" if v["pairs"]["non_mated_sampled"] else "")
        + f". EER {_percent(v['eer'])}.",
        "",
        "| FMR | FNMR | distance |",
        "|---|---|---|",
        *[
            f"| {p} | {_percent(f)} | {v['threshold_distance_at_fmr'].get(p, '-')} |"
            for p, f in v["fnmr_at_fmr"].items()
        ],
        "",
        "## Identification (1:N)",
        "",
        f"Gallery: one photo of each of {i['gallery_size']} people; {i.get('mated_searches', 0):,} mated and"
        f" {i.get('non_mated_searches', 0):,} non-mated searches. Rank-1 {_percent(i['rank1'])}.",
        "",
        "| FPIR | FNIR |",
        "|---|---|",
        *[f"| {p} | {_percent(f)} |" for p, f in i["fnir_at_fpir"].items()],
    ]
    groups = report.get("groups") or {}
    if groups:
        lines += [
            "",
            f"## Groups, at one threshold (distance {groups['threshold_distance']},"
            f" global FMR {groups['at_global_fmr']})",
            "",
            "| group | people | FMR (95% interval) | FNMR (95% interval) |",
            "|---|---|---|---|",
        ]
        for name, g in groups["by_group"].items():
            fmr, fnmr = f"{_percent(g['fmr'])} {_range(g['fmr_95'])}", f"{_percent(g['fnmr'])} {_range(g['fnmr_95'])}"
            lines.append(f"| {name} | {g['people']} | {fmr} | {fnmr} |")
        lines += ["", f"Highest over lowest FMR (NISTIR 8280): {groups['fmr_max_over_min']}"]
    lines += ["", *[f"![{p.stem}]({p.name})" for p in plots], ""]
    return "\n".join(lines)
