"""Face-free photos for detector false positives (issue 11.1): natural scenes from the Intel Image
Classification set, found in a public repository snapshot.

    python scripts/devsets/scenes_nofaces.py /work/.mirror/afroozsheikh+Intel-Image-Classifier/repo/.git
        [--classes forest,glacier,mountain] [--split test] [--out ~/.cache/faceindex/devsets/scenes_nofaces]

The snapshot holds <split>/<class>/<n>.jpg (150x150 scenes: buildings, forest, glacier, mountain, sea,
street). The default classes are the natural ones, where a person is rare; buildings, street and sea show
people now and then (use them as a harder negative set, and review any detection by eye). Writes
OUT/images/<class>/<n>.jpg and OUT/manifest.csv (file, category, faces, width, height, source, licence);
faces is 0 by the set's construction, not by a hand check of every photo.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from snapshot import DEFAULT_ROOT, Snapshot, write_csv

NAME = "scenes_nofaces"
LICENCE = (
    "Intel Image Classification (Intel scene classification challenge, Analytics Vidhya; Kaggle puneet6060): "
    "no licence stated in the snapshot; development use on this machine only, never redistributed"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshot", type=Path, help="fetched snapshot path (bare git dir)")
    parser.add_argument("--classes", default="forest,glacier,mountain")
    parser.add_argument("--split", default="test", help="test or train: the folder in the snapshot")
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT / NAME)
    args = parser.parse_args(argv)

    snap = Snapshot(args.snapshot)
    out: Path = args.out.expanduser()
    if (out / "images").exists():
        shutil.rmtree(out / "images")
    source = f"github:afroozsheikh/Intel-Image-Classifier@{snap.commit[:12]}"
    rows: list[tuple[str, str, int, int, int, str, str]] = []
    for category in [c.strip() for c in args.classes.split(",") if c.strip()]:
        paths = [p for p in snap.files(f"{args.split}/{category}/") if p.lower().endswith(".jpg")]
        for path, data in snap.read(sorted(paths)):
            try:
                with Image.open(io.BytesIO(data)) as im:
                    im.load()
                    width, height = im.size
            except (OSError, SyntaxError):
                continue
            file = f"images/{category}/{path.rsplit('/', 1)[-1]}"
            (out / file).parent.mkdir(parents=True, exist_ok=True)
            (out / file).write_bytes(data)
            rows.append((file, category, 0, width, height, source, LICENCE))
    if not rows:
        raise SystemExit(f"no {args.split}/<class>/*.jpg for classes {args.classes} in {args.snapshot}")
    write_csv(out / "manifest.csv", ["file", "category", "faces", "width", "height", "source", "licence"], rows)
    counts = {c: sum(1 for r in rows if r[1] == c) for c in dict.fromkeys(r[1] for r in rows)}
    print(f"{out}: {len(rows)} face-free photos {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
