"""Labelled people for verification and 1:N (issue 12): CelebA photos found in public repository snapshots.

    python scripts/devsets/celeba_people.py /work/.mirror/matush97+faceRecognition/repo [MORE_SNAPSHOTS...]
        [--identities identity_CelebA.txt] [--out ~/.cache/faceindex/devsets/celeba_people]

Every snapshot is searched for CelebA images (files named NNNNNN.jpg) and for identity_CelebA.txt (the
image -> person table CelebA ships); `--identities` gives that table as a local file instead. Images of one
CelebA id found in several snapshots are kept once. Writes under OUT:

  people/<person>/<image>.jpg   the photos, bytes unchanged (one folder per person: `faceindex eval` input)
  manifest.csv                  file, person, split, width, height, source, licence
  pairs.csv                     verification pairs: fold, mated, file_a, file_b (10 folds, people disjoint)
  identification.csv            1:N roles: file, person, role (gallery / mated_probe / nonmated_probe)

split: about 20% of the people (fixed by a hash of the id) are "stranger": never enrolled, their photos are
the non-mated searches; the rest are "enrolled", one photo each in the gallery, the others mated searches.
CelebA's people are disjoint from LFW's by construction (CelebFaces+, Sun et al. 2014), so this set never
touches the LFW evaluation. CelebA is licensed for non-commercial research only: the photos stay on this
machine, outside the repository.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from snapshot import DEFAULT_ROOT, Snapshot, stable_fraction, write_csv

NAME = "celeba_people"
LICENCE = "CelebA: non-commercial research only (CUHK MMLab agreement); photos (c) their owners"
IMAGE_NAME = re.compile(r"(?:^|/)(\d{6})\.jpg$")
STRANGER_SHARE = 0.2
FOLDS = 10


@dataclass(frozen=True)
class Photo:
    image: str  # CelebA's file name, e.g. 000093.jpg
    person: str
    split: str
    width: int
    height: int
    source: str

    @property
    def file(self) -> str:
        return f"people/{self.person}/{self.image}"


def read_identities(text: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and IMAGE_NAME.search(parts[0]) and parts[1].isdigit():
            table[parts[0]] = f"celeba_{int(parts[1]):05d}"
    return table


def find_identities(snapshots: list[Snapshot], local: Path | None) -> dict[str, str]:
    if local is not None:
        return read_identities(local.read_text(encoding="utf-8"))
    for snap in snapshots:
        hits = [p for p in snap.files() if p.rsplit("/", 1)[-1] == "identity_CelebA.txt"]
        for _, data in snap.read(hits[:1]):
            return read_identities(data.decode("utf-8", "replace"))
    raise SystemExit("no identity_CelebA.txt in the snapshots given; pass --identities FILE")


def split_of(person: str) -> str:
    return "stranger" if stable_fraction(person, "split") < STRANGER_SHARE else "enrolled"


def extract(snapshots: list[Snapshot], identities: dict[str, str], out: Path) -> list[Photo]:
    photos: dict[str, Photo] = {}
    for snap in snapshots:
        wanted = [p for p in snap.files() if IMAGE_NAME.search(p) and p.rsplit("/", 1)[-1] in identities]
        wanted = [p for p in wanted if p.rsplit("/", 1)[-1] not in photos]
        source = f"github:{repo_name(snap)}@{snap.commit[:12]}"
        for path, data in snap.read(wanted):
            image = path.rsplit("/", 1)[-1]
            try:
                with Image.open(io.BytesIO(data)) as im:
                    im.load()  # a truncated file must not reach the dev set
                    width, height = im.size
            except (OSError, SyntaxError):
                continue
            person = identities[image]
            photo = Photo(image, person, split_of(person), width, height, source)
            target = out / photo.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            photos[image] = photo
    return sorted(photos.values(), key=lambda p: (p.person, p.image))


def repo_name(snap: Snapshot) -> str:
    # /work/.mirror/<owner>+<name>/repo[/.git]: the fetch tool's layout; fall back to the folder name
    for part in reversed(snap.path.resolve().parts):
        if "+" in part:
            return part.replace("+", "/", 1)
    return snap.path.name


def verification_pairs(photos: list[Photo], per_fold: int, seed: int) -> list[tuple[int, int, str, str]]:
    """Verification pairs: per fold `per_fold` mated and `per_fold` non-mated, each fold's people its own."""
    by_fold: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for p in photos:
        by_fold[int(stable_fraction(p.person, "fold") * FOLDS)][p.person].append(p.file)
    rng = random.Random(seed)
    rows: list[tuple[int, int, str, str]] = []
    for fold in range(FOLDS):
        people = by_fold.get(fold, {})
        names = sorted(people)
        multi = [n for n in names if len(people[n]) >= 2]
        seen: set[tuple[str, str]] = set()
        for mated, pool in ((1, multi), (0, names)):
            if (mated and not multi) or len(names) < 2:
                continue
            made = tries = 0
            while made < per_fold and tries < per_fold * 50:
                tries += 1
                if mated:
                    a, b = rng.sample(people[rng.choice(pool)], 2)
                else:
                    x, y = rng.sample(pool, 2)
                    a, b = rng.choice(people[x]), rng.choice(people[y])
                key = (min(a, b), max(a, b))
                if key in seen:
                    continue
                seen.add(key)
                rows.append((fold, mated, a, b))
                made += 1
    return rows


def identification_roles(photos: list[Photo]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    by_person: dict[str, list[Photo]] = defaultdict(list)
    for p in photos:
        by_person[p.person].append(p)
    for person, own in sorted(by_person.items()):
        if own[0].split == "stranger":
            rows.extend((p.file, person, "nonmated_probe") for p in own)
            continue
        # the gallery photo is fixed by a hash, not by file order, so it is not always the oldest CelebA id
        own = sorted(own, key=lambda p: stable_fraction(p.image, "gallery"))
        rows.append((own[0].file, person, "gallery"))
        rows.extend((p.file, person, "mated_probe") for p in own[1:])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshots", nargs="+", type=Path, help="fetched snapshot paths (bare git dirs)")
    parser.add_argument("--identities", type=Path, help="identity_CelebA.txt, if no snapshot holds it")
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT / NAME)
    parser.add_argument("--pairs-per-fold", type=int, default=300)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)

    snapshots = [Snapshot(p) for p in args.snapshots]
    identities = find_identities(snapshots, args.identities)
    out: Path = args.out.expanduser()
    if (out / "people").exists():
        shutil.rmtree(out / "people")  # a rebuild must not keep photos a changed split no longer lists
    photos = extract(snapshots, identities, out)
    if not photos:
        raise SystemExit("no CelebA images with an identity were found in the snapshots")

    write_csv(
        out / "manifest.csv",
        ["file", "person", "split", "width", "height", "source", "licence"],
        ((p.file, p.person, p.split, p.width, p.height, p.source, LICENCE) for p in photos),
    )
    pairs = verification_pairs(photos, args.pairs_per_fold, args.seed)
    write_csv(out / "pairs.csv", ["fold", "mated", "file_a", "file_b"], pairs)
    roles = identification_roles(photos)
    write_csv(out / "identification.csv", ["file", "person", "role"], roles)

    people: dict[str, int] = defaultdict(int)
    for p in photos:
        people[p.person] += 1
    strangers = {p.person for p in photos if p.split == "stranger"}
    print(
        f"{out}: {len(photos)} photos of {len(people)} people "
        f"({sum(1 for n in people.values() if n >= 2)} with >= 2 photos; {len(strangers)} strangers); "
        f"{sum(1 for r in pairs if r[1])} mated + {sum(1 for r in pairs if not r[1])} non-mated pairs; "
        f"gallery {sum(1 for r in roles if r[2] == 'gallery')}, "
        f"mated probes {sum(1 for r in roles if r[2] == 'mated_probe')}, "
        f"non-mated probes {sum(1 for r in roles if r[2] == 'nonmated_probe')}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
