"""Hard photos for face detection (issue 11.1): tight crops, old scans, small faces, crowds, turned and
tilted heads, and face-free photos, with face boxes, built from public repository snapshots.

    .venv/bin/python scripts/devsets/hard_faces.py [--mirror /work/.mirror] [--seed 11]
        [--out ~/.cache/faceindex/devsets/hard_faces] [--threads N] [--no-cache]

Every snapshot named in hard_faces_sources.py is read from MIRROR/<owner>+<name>/repo (`fetch
github:owner/name` puts it there). Writes OUT/images/<category>/<name>.jpg|png and

  images.csv  file, category, width, height, faces, source, licence, box_source
  boxes.csv   file, left, top, right, bottom, size, tags   (one row per face; face-free photos have none)

Boxes are dlib-style face boxes (what dlib's CNN returns: about brows to chin, square) in pixel edges
(right and bottom exclusive), as floats. box_source says where a photo's boxes come from:
"teacher:mmod-upN+hog-upM" (dlib's CNN and HOG, merged; issue 11.1 allows this teacher where no public
ground truth exists), "transform of teacher box" (a derived photo: the teacher's box on the source photo
mapped exactly through the crop, resize, paste or rotation), "dataset:dlib-xml" (dlib's own annotations of
its PASCAL VOC example photos) or "none: face-free by construction". A box's tags name its difficulty
(gray;lowcontrast;...) and its origin: cnn_only / hog_only (found by one teacher only), ignore (an
annotation dlib marks to ignore). The teacher's runs are cached in OUT/teacher_cache.json by pixels.
Needs faceindex (the teacher runs through its engine), so run it with the project's venv.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hard_faces_sources as src
from boxes import Box, rotated_face_box
from photo_ops import Patch, Scan, crop_resize, downscale_to, jpeg, paste_faces, quarter_turn, rotate
from snapshot import DEFAULT_ROOT, Snapshot, stable_fraction, write_csv
from teacher import Pixels, Teacher

NAME = "hard_faces"
PORTRAIT_MAX_PIXELS = 1.2e6
MIN_FACE = 90  # px: a portrait's face box at least this tall, so crops are not mostly upscaling
TIGHT_MARGINS = (0.0, 0.10, 0.25, 0.50)  # of the face box's size, on each side
TIGHT_SIZES = (112, 150, 256, 512)
ID_SIZES = ((96, 128), (150, 200), (300, 400), (413, 531))  # 3:4 ID photos (413 x 531: 35 x 45 mm at 300 dpi)
BANDS = ((12, 24, 8), (24, 40, 5), (40, 80, 3))  # small: face height band (px) and faces per photo
SMALL_PER_BAND = 40
SMALL_CANVAS = (640, 480)
HEAD_MARGIN = 0.45  # a pasted head: the face box grown by this on each side (hair, chin)
ANGLES = (-45, -30, -15, 15, 30, 45)
CROWD_MAX_PIXELS = 2e6  # larger group photos are shrunk to this before the teacher and the set see them
CROWD_MIN_FACES = 3
QUALITY = 92
LFW_NAME = re.compile(r"(?:^|/)[A-Z][A-Za-z'-]+(?:_[A-Z][A-Za-z'-]+)+_\d{4}\.(?:jpe?g|png)$")
TEACHER_UP1 = "teacher:mmod-up1+hog-up2"
TRANSFORMED = "transform of teacher box"
FACE_FREE = "none: face-free by construction"


@dataclass(frozen=True)
class Face:
    box: Box
    tags: tuple[str, ...]


@dataclass
class Entry:
    file: str
    category: str
    width: int
    height: int
    source: str
    licence: str
    box_source: str
    faces: list[Face] = field(default_factory=list)


@dataclass(frozen=True)
class Portrait:
    name: str  # celeba_NNNNNN
    source: str
    image: Image.Image
    face: Box


def decode(data: bytes) -> Image.Image:
    """RGB pixels as the engine sees them (EXIF orientation applied)."""
    with Image.open(io.BytesIO(data)) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def small_enough(data: bytes) -> bool:
    """A portrait of at most PORTRAIT_MAX_PIXELS: CelebA has photos up to 21 MP, where the CNN needs GBs."""
    with Image.open(io.BytesIO(data)) as im:
        return im.width * im.height <= PORTRAIT_MAX_PIXELS


def upright(data: bytes) -> bool:
    """True when the file's pixels are stored the way they are shown (no EXIF turn to apply)."""
    with Image.open(io.BytesIO(data)) as im:
        return int(im.getexif().get(0x0112, 1)) == 1


def pixels(image: Image.Image) -> Pixels:
    return np.asarray(image.convert("RGB"))


def tagged(box_tag: str, *tags: str) -> tuple[str, ...]:
    return tuple(t for t in (*tags, box_tag) if t)


class Builder:
    def __init__(self, out: Path, mirror: Path, teacher: Teacher, seed: int) -> None:
        self.out, self.teacher, self.seed = out, teacher, seed
        self.snaps = {repo.name: Snapshot(mirror / repo.folder / "repo") for repo in src.ALL_REPOS}
        self.entries: list[Entry] = []
        self.crowd: list[tuple[Entry, Image.Image]] = []
        self._portrait_order = sorted(
            (p for p in self.snaps[src.CELEBA.name].files(src.CELEBA_FOLDER) if p.endswith(".jpg")),
            key=lambda p: stable_fraction(p, f"portraits:{seed}"),
        )
        self._next_portrait = 0

    def rng(self, key: str) -> random.Random:
        return random.Random(f"{self.seed}:{key}")

    def source(self, repo: src.Repo, path: str) -> str:
        return f"github:{repo.name}@{self.snaps[repo.name].commit[:12]}:{path}"

    def read(self, repo: src.Repo, paths: list[str]) -> Iterator[tuple[str, bytes]]:
        for path in paths:
            if LFW_NAME.search(path):
                raise SystemExit(f"{repo.name}:{path} is named like an LFW photo; LFW is never used here")
        yield from self.snaps[repo.name].read(paths)

    def write(self, file: str, data: bytes | Image.Image, quality: int = QUALITY) -> tuple[int, int]:
        target = self.out / file
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Image.Image):
            data = jpeg(data, quality)
        target.write_bytes(data)
        with Image.open(io.BytesIO(data)) as im:
            return ImageOps.exif_transpose(im).size

    def add(
        self,
        file: str,
        category: str,
        data: bytes | Image.Image,
        source: str,
        licence: str,
        how: str,
        faces: list[Face],
        quality: int = QUALITY,
    ) -> Entry:
        width, height = self.write(file, data, quality)
        entry = Entry(file, category, width, height, source, licence, how, faces)
        self.entries.append(entry)
        return entry

    def portraits(self, count: int, fits: Callable[[Image.Image, Box], bool]) -> list[Portrait]:
        """The next `count` CelebA photos (in the seed's order) with one clear face that `fits` accepts.
        Each photo is used by one category only."""
        taken: list[Portrait] = []
        snap = self.snaps[src.CELEBA.name]
        while len(taken) < count and self._next_portrait < len(self._portrait_order):
            batch = self._portrait_order[self._next_portrait : self._next_portrait + count - len(taken)]
            self._next_portrait += len(batch)
            for path, data in snap.read(batch):
                if not small_enough(data):
                    continue
                image = decode(data)
                face = self.teacher.clear_face(pixels(image), MIN_FACE)
                if face is not None and fits(image, face):
                    name = f"celeba_{path.rsplit('/', 1)[-1].removesuffix('.jpg')}"
                    taken.append(Portrait(name, self.source(src.CELEBA, path), image, face))
        if len(taken) < count:
            raise SystemExit(f"only {len(taken)} of {count} CelebA portraits with one clear face were found")
        return taken


def fits_in(grow: float) -> Callable[[Image.Image, Box], bool]:
    return lambda image, face: face.grown(grow).inside(*image.size)


def build_tight(b: Builder) -> None:
    """Crops around one face: square at four margins and four sizes (every pair 8 times), 3:4 ID photos,
    and crops 5% inside the face box that cut the brows and chin (the box then leaves the frame)."""
    combos = list(product(TIGHT_MARGINS, TIGHT_SIZES))
    b.rng("tight").shuffle(combos)
    for i, p in enumerate(b.portraits(32, fits_in(max(TIGHT_MARGINS)))):
        for k in range(4):
            margin, size = combos[(4 * i + k) % len(combos)]
            region = p.face.grown(margin)
            tags = ("tight", f"margin{round(margin * 100)}", f"size{size}")
            _tight(b, p, region, (size, size), f"m{round(margin * 100):02d}_s{size}", tags)
    for i, p in enumerate(b.portraits(16, lambda image, face: _id_region(face).inside(*image.size))):
        width, height = ID_SIZES[i % len(ID_SIZES)]
        tags = ("tight", "id_photo", f"size{width}x{height}")
        _tight(b, p, _id_region(p.face), (width, height), f"id_{width}x{height}", tags)
    for i, p in enumerate(b.portraits(16, fits_in(0.0))):
        size = TIGHT_SIZES[i % len(TIGHT_SIZES)]
        _tight(b, p, p.face.grown(-0.05), (size, size), f"cut05_s{size}", ("tight", "margin-5", "cut", f"size{size}"))


def _id_region(face: Box) -> Box:
    """A 3:4 passport framing: 25% of the face's width beside it, the face's centre at 45% of the height."""
    cx, cy = face.centre
    width = 1.5 * face.width
    height = width * 4 / 3
    return Box(cx - width / 2, cy - 0.45 * height, cx + width / 2, cy + 0.55 * height)


def _tight(b: Builder, p: Portrait, region: Box, size: tuple[int, int], suffix: str, tags: tuple[str, ...]) -> None:
    image = crop_resize(p.image, region, *size)
    face = p.face.mapped(region, *size)
    upscaled = ("upscaled",) if size[1] / region.height > 1.25 else ()
    how = f"crop({region.left:.1f},{region.top:.1f},{region.right:.1f},{region.bottom:.1f})+resize({size[0]}x{size[1]})"
    b.add(
        f"images/tight/{p.name}_{suffix}.jpg",
        "tight",
        image,
        f"derived:{p.source}+{how}",
        src.CELEBA.licence,
        TRANSFORMED,
        [Face(face, tags + upscaled)],
    )


def build_crowd(b: Builder) -> None:
    """Group photos: dlib's annotations for its PASCAL photos, the teacher's boxes for the rest."""
    dataset = dlib_boxes(b)
    seen: set[str] = set()
    for repo, path in src.CROWD:
        for _, data in b.read(repo, [path]):
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            original = decode(data)
            image = downscale_to(original, CROWD_MAX_PIXELS)
            name = path.rsplit("/", 1)[-1]
            source = b.source(repo, path)
            if name in dataset and image is original:
                faces, how = dataset[name], "dataset:dlib-xml"
            else:
                merged, how = b.teacher.all_faces(pixels(image))
                faces = [Face(box, tagged(tag, "crowd")) for box, tag in merged]
            if sum("ignore" not in f.tags for f in faces) < CROWD_MIN_FACES:
                print(f"  crowd: {source} left out ({len(faces)} faces)")
                continue
            stem, ext = name.rsplit(".", 1)
            if image is original and upright(data):
                file, stored = f"images/crowd/{repo.short}_{stem}.{ext.lower()}", data
            else:
                file, stored = f"images/crowd/{repo.short}_{stem}.jpg", jpeg(image, 95)
                source = f"derived:{source}+resize({image.width}x{image.height})"
            entry = b.add(file, "crowd", stored, source, repo.licence, how, faces)
            b.crowd.append((entry, image))


def dlib_boxes(b: Builder) -> dict[str, list[Face]]:
    """dlib's examples/faces annotations (image file -> faces); boxes marked ignore='1' keep an ignore tag."""
    faces: dict[str, list[Face]] = {}
    for _, data in b.read(src.DLIB, list(src.DLIB_BOXES)):
        for image in ET.fromstring(data).iter("image"):
            rows = faces.setdefault(image.attrib["file"], [])
            for box in image.iter("box"):
                left, top = float(box.attrib["left"]), float(box.attrib["top"])
                right, bottom = left + float(box.attrib["width"]), top + float(box.attrib["height"])
                ignore = ("ignore",) if box.attrib.get("ignore") == "1" else ()
                rows.append(Face(Box(left, top, right, bottom), ("crowd", *ignore)))
    return faces


def build_gray_scan(b: Builder) -> None:
    """Old scans made from CelebA photos and from every crowd photo, and real old photos (teacher)."""
    for p in b.portraits(70, lambda image, face: True):
        _scan(
            b,
            f"images/gray_scan/{p.name}.jpg",
            p.image,
            p.source,
            src.CELEBA.licence,
            TEACHER_UP1,
            [Face(p.face, ("celeba",))],
        )
    for entry, image in b.crowd:
        stem = entry.file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        source = entry.source.removeprefix("derived:")
        _scan(b, f"images/gray_scan/{stem}.jpg", image, source, entry.licence, entry.box_source, entry.faces)
    for repo, path in src.OLD:
        for _, data in b.read(repo, [path]):
            image = decode(data)
            merged, how = b.teacher.all_faces(pixels(image))
            if not merged:
                print(f"  gray_scan: {b.source(repo, path)} left out (the teacher finds no face)")
                continue
            colour = np.asarray(image, np.int16)
            gray = ("gray",) if np.abs(colour - colour.mean(axis=2, keepdims=True)).mean() < 6 else ()
            faces = [Face(box, tagged(tag, "real_old", *gray)) for box, tag in merged]
            name = path.removeprefix("test_images/").replace("/", "_")
            b.add(
                f"images/gray_scan/{repo.short}_{name}",
                "gray_scan",
                data,
                b.source(repo, path),
                repo.licence,
                how,
                faces,
            )


def _scan(b: Builder, file: str, image: Image.Image, source: str, licence: str, how: str, faces: list[Face]) -> None:
    scan = Scan.draw(b.rng(file))
    noise_seed = int.from_bytes(hashlib.sha256(f"{b.seed}:{file}".encode()).digest()[:8], "big")
    tags = tuple(scan.tags())
    # the scan keeps the geometry, so the source's boxes (and their box_source) stay as they are
    kept = [Face(f.box, tuple(dict.fromkeys((*tags, *f.tags)))) for f in faces]
    b.add(file, "gray_scan", scan.apply(image, noise_seed), f"derived:{source}+{scan.describe()}", licence, how, kept)


def build_small(b: Builder) -> None:
    """Heads shrunk so their face box is 12-80 px tall, pasted onto face-free scenes at known places:
    40 photos per band (12-24 px: 8 faces each, 24-40: 5, 40-80: 3), face heights uniform in the band."""
    heads = b.portraits(60, fits_in(HEAD_MARGIN))
    scenes = b.snaps[src.SCENES.name]
    backgrounds = sorted(
        (
            p
            for c in src.SCENE_CLASSES
            for p in scenes.files(f"train/{c}/")
            if p.endswith(".jpg") and p not in src.SCENE_EXCLUDED
        ),
        key=lambda p: stable_fraction(p, f"small:{b.seed}"),
    )
    index = 0
    for path, data in b.read(src.SCENES, backgrounds):
        if index == SMALL_PER_BAND * len(BANDS):
            break
        canvas = _canvas(decode(data))
        if b.teacher.any_face(pixels(canvas)):
            print(f"  small: {b.source(src.SCENES, path)} left out (the teacher finds a face: a climber?)")
            continue
        low, high, count = BANDS[index % len(BANDS)]
        rng = b.rng(f"small:{index}")
        for attempt in range(20):
            chosen = rng.sample(heads, max(1, count - attempt // 5))  # fewer heads if they keep colliding
            heights = [rng.uniform(low + 0.5, high - 0.5) for _ in chosen]  # rounding keeps them in the band
            boxes = paste_faces(canvas, [Patch(h.image, h.face, HEAD_MARGIN) for h in chosen], heights, rng)
            if boxes is not None:
                break
        else:
            raise SystemExit(f"small: could not place {count} heads on {path}")
        tags = ("small", "pasted", f"band{low}-{high}")
        pasted = "+".join(f"paste({h.source},height={t:.1f})" for h, t in zip(chosen, heights, strict=True))
        source = f"derived:{b.source(src.SCENES, path)}+resize({canvas.width}x{canvas.height})+{pasted}"
        b.add(
            f"images/small/small_{index:03d}_band{low}-{high}.jpg",
            "small",
            canvas,
            source,
            f"{src.SCENES.licence} / {src.CELEBA.licence}",
            TRANSFORMED,
            [Face(box, tags) for box in boxes],
        )
        index += 1


def _canvas(background: Image.Image) -> Image.Image:
    """A 150 x 150 scene blown up to fill 640 x 480 (its middle band): a plain, face-free backdrop."""
    width, height = SMALL_CANVAS
    side = max(width, height)
    scaled = background.resize((side, side), Image.Resampling.BICUBIC)
    top = (side - height) // 2
    return scaled.crop((0, top, width, top + height))


def build_profile_tilt(b: Builder) -> None:
    """CelebA photos turned by +-15, +-30, +-45 degrees and by a quarter turn, and real posed heads."""

    def turns_fit(image: Image.Image, face: Box) -> bool:
        cx, cy = image.width / 2, image.height / 2
        return all(rotated_face_box(face, a, cx, cy)[1].inside(*image.size) for a in ANGLES)

    for p in b.portraits(16, turns_fit):
        for angle in ANGLES:
            turned = rotate(p.image, p.face, angle)
            assert turned is not None  # turns_fit checked it
            image, face = turned
            b.add(
                f"images/profile_tilt/{p.name}_rot{angle:+d}.jpg",
                "profile_tilt",
                image,
                f"derived:{p.source}+rotate({angle:+d})",
                src.CELEBA.licence,
                TRANSFORMED,
                [Face(face, ("tilt", f"roll{angle:+d}"))],
            )
    for i, p in enumerate(b.portraits(8, lambda image, face: True)):
        turns = 1 if i % 2 == 0 else 3
        image, face = quarter_turn(p.image, p.face, turns)
        b.add(
            f"images/profile_tilt/{p.name}_rot{90 * turns}.jpg",
            "profile_tilt",
            image,
            f"derived:{p.source}+rotate({90 * turns})",
            src.CELEBA.licence,
            TRANSFORMED,
            [Face(face, ("tilt", f"rot{90 * turns}"))],
        )
    for repo, path, kind in src.POSE:
        for _, data in b.read(repo, [path]):
            merged, how = b.teacher.all_faces(pixels(decode(data)))
            if not merged:
                print(f"  profile_tilt: {b.source(repo, path)} left out (the teacher finds no face)")
                continue
            b.add(
                f"images/profile_tilt/{repo.short}_{path.rsplit('/', 1)[-1]}",
                "profile_tilt",
                data,
                b.source(repo, path),
                repo.licence,
                how,
                [Face(box, tagged(tag, "real", kind)) for box, tag in merged],
            )


def build_nofaces(b: Builder, scenes_per_class: int, pets_per_kind: int) -> None:
    """Face-free photos: natural scenes (Intel test split), cats and dogs, dlib's animal photos."""
    scenes = b.snaps[src.SCENES.name]
    for cls in src.SCENE_CLASSES:
        paths = sorted(
            (p for p in scenes.files(f"test/{cls}/") if p.endswith(".jpg") and p not in src.SCENE_EXCLUDED),
            key=lambda p: stable_fraction(p, f"nofaces:{b.seed}"),
        )[:scenes_per_class]
        _copy_free(b, src.SCENES, paths, f"scene_{cls}")
    pets = b.snaps[src.PETS.name]
    for folder in src.PET_FOLDERS:
        paths = sorted(
            (p for p in pets.files(folder) if p.endswith(".jpg") and p.rsplit("/", 1)[-1] not in src.PET_EXCLUDED),
            key=lambda p: stable_fraction(p.rsplit("/", 1)[-1], "pets"),  # fixed: the hand check holds
        )[:pets_per_kind]
        _copy_free(b, src.PETS, paths, "pet")
    for repo, path, kind in src.NOFACE_FILES:
        _copy_free(b, repo, [path], f"{repo.short}_{kind}")


def _copy_free(b: Builder, repo: src.Repo, paths: list[str], prefix: str) -> None:
    for path, data in b.read(repo, paths):
        name = path.rsplit("/", 1)[-1].lower()
        b.add(f"images/nofaces/{prefix}_{name}", "nofaces", data, b.source(repo, path), repo.licence, FACE_FREE, [])


def size_band(height: float) -> str:
    for low, high in ((0, 12), (12, 24), (24, 40), (40, 80), (80, 160)):
        if height < high:
            return f"{low}-{high}"
    return "160+"


def write_manifests(b: Builder) -> None:
    b.entries.sort(key=lambda e: e.file)
    images = [
        (e.file, e.category, e.width, e.height, len(e.faces), e.source, e.licence, e.box_source) for e in b.entries
    ]
    write_csv(
        b.out / "images.csv",
        ["file", "category", "width", "height", "faces", "source", "licence", "box_source"],
        images,
    )
    boxes = [
        (
            e.file,
            *(f"{v:.2f}" for v in (f.box.left, f.box.top, f.box.right, f.box.bottom)),
            f"{f.box.height:.1f}",
            ";".join(f.tags),
        )
        for e in b.entries
        for f in e.faces
    ]
    write_csv(b.out / "boxes.csv", ["file", "left", "top", "right", "bottom", "size", "tags"], boxes)


def summary(b: Builder) -> str:
    lines = []
    for category in dict.fromkeys(e.category for e in b.entries):
        own = [e for e in b.entries if e.category == category]
        bands = Counter(size_band(f.box.height) for e in own for f in e.faces)
        order = ["0-12", "12-24", "24-40", "40-80", "80-160", "160+"]
        banded = ", ".join(f"{k} px: {bands[k]}" for k in order if bands[k])
        lines.append(f"  {category}: {len(own)} photos, {sum(len(e.faces) for e in own)} faces ({banded})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"), help="folder of fetched snapshots")
    parser.add_argument("--out", type=Path, default=DEFAULT_ROOT / NAME)
    parser.add_argument("--seed", type=int, default=11, help="picks the photos, crops and degradations")
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("FACEINDEX_THREADS", "0")),
        help="the teacher's onnxruntime threads (0: one per core; default FACEINDEX_THREADS)",
    )
    parser.add_argument("--no-cache", action="store_true", help="run the teacher again on every photo")
    parser.add_argument("--scenes-per-class", type=int, default=50)
    parser.add_argument("--pets-per-kind", type=int, default=75)
    args = parser.parse_args(argv)

    missing = [r.name for r in src.ALL_REPOS if not (args.mirror / r.folder / "repo").exists()]
    if missing:
        raise SystemExit(
            "snapshots missing under {}: fetch {}".format(args.mirror, ", ".join(f"github:{m}" for m in missing))
        )
    out: Path = args.out.expanduser()
    if (out / "images").exists():
        shutil.rmtree(out / "images")  # a rebuild must not keep photos the new run no longer lists
    teacher = Teacher(args.threads, None if args.no_cache else out / "teacher_cache.json")
    b = Builder(out, args.mirror, teacher, args.seed)
    start = time.monotonic()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("tight", lambda: build_tight(b)),
        ("crowd", lambda: build_crowd(b)),
        ("gray_scan", lambda: build_gray_scan(b)),  # after crowd: it scans the crowd photos too
        ("small", lambda: build_small(b)),
        ("profile_tilt", lambda: build_profile_tilt(b)),
        ("nofaces", lambda: build_nofaces(b, args.scenes_per_class, args.pets_per_kind)),
    ]
    for name, step in steps:
        before = len(b.entries)
        step()
        teacher.save()
        print(f"{name}: {len(b.entries) - before} photos ({time.monotonic() - start:.0f} s)", flush=True)
    write_manifests(b)
    faces = sum(len(e.faces) for e in b.entries)
    print(f"{out}: {len(b.entries)} photos, {faces} faces; teacher ran {teacher.runs} times\n{summary(b)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
