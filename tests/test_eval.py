"""`faceindex eval` (issue 12.4) on the test photos: the report's keys, plots and a group column."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from faceindex.cli.main import main


def test_eval_of_person_folders_writes_the_report_and_plots(testdata: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    assert main(["eval", str(testdata / "faces"), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["people"] == 6 and report["photos_without_a_face"] == 0
    verification, identification = report["verification"], report["identification"]
    assert set(verification["fnmr_at_fmr"]) == {"0.01", "0.001", "0.0001"} and 0 <= verification["eer"] <= 0.5
    assert set(identification["fnir_at_fpir"]) == {"0.1", "0.01", "0.003"}
    assert identification["gallery_size"] >= 1 and 0 <= identification["rank1"] <= 1
    assert report["groups"] == {}
    for plot in ("det.png", "scores.png", "fnir_by_gallery_size.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Verification" in (out / "report.md").read_text()
    assert "EER" in capsys.readouterr().out


def test_eval_of_a_csv_with_groups_reports_each_group(testdata: Path, tmp_path: Path) -> None:
    table = tmp_path / "photos.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "person", "group"])
        for photo in sorted((testdata / "faces").glob("*/*")):
            person = photo.parent.name
            writer.writerow([str(photo), person, "first" if person < "kit" else "second"])
    out = tmp_path / "out"
    assert main(["eval", str(table), "--out", str(out)]) == 0
    groups = json.loads((out / "report.json").read_text())["groups"]
    assert set(groups["by_group"]) == {"first", "second"} and groups["at_global_fmr"] == 0.001
    for rates in groups["by_group"].values():
        assert rates["fmr_95"] is None or rates["fmr_95"][0] <= rates["fmr_95"][1]
    assert "Highest over lowest FMR" in (out / "report.md").read_text()


def test_eval_refuses_a_set_of_one_person(testdata: Path, tmp_path: Path) -> None:
    assert main(["eval", str(testdata / "faces" / "obama"), "--out", str(tmp_path)]) == 2
