"""The model pack `dlib-v1`: dlib's public-domain networks from `face_recognition_models`,
converted to ONNX by `convert.py` on first use and cached with checksums.

The cache lives in `Settings.model_cache/dlib-v1/` with a `manifest.json` naming the pack
version, the converter version, and the SHA-256 of every source `.dat` and every built `.onnx`.
A cache whose manifest does not match the installed sources or whose files fail their
checksum is rebuilt; nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceindex.errors import ModelError

PACK_NAME = "dlib-v1"
CONVERTER_VERSION = 1  # bump when convert.py changes its output
LICENCES = {
    "resnet": "public domain (dlib-models)",
    "mmod": "public domain (dlib-models)",
    "shape5": "public domain (dlib-models)",
    "shape68": "opt-in only: trained on iBUG 300-W, whose licence excludes commercial use",
}


def source_files() -> dict[str, Path]:
    try:
        import face_recognition_models as frm
    except ImportError as exc:  # pragma: no cover - a hard dependency
        raise ModelError("the package face_recognition_models is not installed") from exc
    return {
        "resnet": Path(frm.face_recognition_model_location()),
        "mmod": Path(frm.cnn_face_detector_model_location()),
        "shape5": Path(frm.pose_predictor_five_point_model_location()),
        "shape68": Path(frm.pose_predictor_model_location()),
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class PreparedPack:
    directory: Path
    manifest: dict[str, Any]

    def onnx_path(self, role: str) -> Path:
        file_name: str = self.manifest["onnx"][role]["file"]
        return self.directory / file_name

    def meta(self, role: str) -> dict[str, Any]:
        meta: dict[str, Any] = self.manifest["onnx"][role]["meta"]
        return meta


_lock = threading.Lock()


def prepare(cache_root: Path, force: bool = False) -> PreparedPack:
    """Return the converted pack, building it when missing, stale or corrupt."""
    directory = cache_root / PACK_NAME
    with _lock:
        sources = source_files()
        if not force:
            manifest = _valid_manifest(directory, sources)
            if manifest is not None:
                return PreparedPack(directory, manifest)
        return PreparedPack(directory, _build(directory, sources))


def _valid_manifest(directory: Path, sources: dict[str, Path]) -> dict[str, Any] | None:
    try:
        manifest: dict[str, Any] = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("pack") != PACK_NAME or manifest.get("converter_version") != CONVERTER_VERSION:
        return None
    for role in ("resnet", "mmod"):
        entry = manifest.get("onnx", {}).get(role)
        if entry is None or manifest["sources"].get(role, {}).get("size") != sources[role].stat().st_size:
            return None
        path = directory / entry["file"]
        if not path.is_file() or sha256(path) != entry["sha256"]:
            return None
    return manifest


def _build(directory: Path, sources: dict[str, Path]) -> dict[str, Any]:
    from faceindex.models import convert  # needs the `onnx` package, only at build time

    directory.mkdir(parents=True, exist_ok=True)
    onnx_entries: dict[str, Any] = {}
    for role, builder in (("resnet", convert.resnet_to_onnx), ("mmod", convert.mmod_to_onnx)):
        model, meta = builder(sources[role].read_bytes())
        file_name = f"{sources[role].stem}.onnx"
        _atomic_write(directory / file_name, model.SerializeToString())
        onnx_entries[role] = {"file": file_name, "sha256": sha256(directory / file_name), "meta": meta}
    manifest = {
        "pack": PACK_NAME,
        "converter_version": CONVERTER_VERSION,
        "sources": {
            role: {"file": str(path), "size": path.stat().st_size, "sha256": sha256(path), "licence": LICENCES[role]}
            for role, path in sources.items()
        },
        "onnx": onnx_entries,
    }
    _atomic_write(directory / "manifest.json", json.dumps(manifest, indent=2).encode())
    return manifest


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
