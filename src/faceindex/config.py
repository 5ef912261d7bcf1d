"""Settings, read from the environment (prefix FACEINDEX_) and an optional TOML file, validated once.

The file is named by FACEINDEX_CONFIG; its keys are the field names below (`data_dir = "/srv/faces"`,
`max_bytes = 5242880`); the environment wins over the file.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from faceindex.errors import InvalidParameter


def _default_data() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "faceindex"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "faceindex" / "models"


@dataclass(frozen=True)
class ImageLimits:
    """Rekognition's documented limits are the defaults."""

    max_bytes: int = 5 * 1024 * 1024  # Image.Bytes
    max_file_bytes: int = 15 * 1024 * 1024  # a file on disk or an object in a store
    max_pixels: int = 40_000_000
    min_side: int = 80


@dataclass(frozen=True)
class Settings:
    model_cache: Path = field(default_factory=_default_cache)
    data_dir: Path = field(default_factory=_default_data)  # the embedded store: faceindex.db + indexes/
    vector_index: str = "auto"  # auto (exact below 50,000 faces, else HNSW) | exact | hnsw
    region: str = "us-east-1"  # for ARNs, as Rekognition writes them, and the region SigV4 scopes must name
    signing_regions: str = ""  # or these, comma-separated ("us-east-1,eu-west-1"); "" is `region` alone
    account_id: str = "000000000000"
    detector: str = "blazeface"  # blazeface (tiled, faces from ~20 px) | mmod (dlib's CNN) | hog (dlib's HOG)
    detector_upsample: int = 1  # mmod / hog: 1 finds faces down to ~40 px; 0 is ~4x faster, faces >= ~80 px
    landmarks: str = "mesh"  # mesh (FaceMesh, Apache-2.0) | 5 (dlib, public domain) | 68 (opt-in: non-commercial)
    threads: int = 0  # onnxruntime intra-op threads, 0 = one per core
    limits: ImageLimits = field(default_factory=ImageLimits)
    # the server (`faceindex serve`)
    host: str = "127.0.0.1"
    port: int = 8080
    auth: str = "sigv4"  # sigv4 | none (development only: refused unless host is loopback)
    max_body_bytes: int = 8 * 1024 * 1024  # a 5 MB image is ~6.7 MB as base64 JSON
    max_in_flight: int = 4  # requests running at once; the engine uses every core for each
    max_waiting: int = 32  # requests queued beyond that; more get ThrottlingException
    max_connections: int = 1000  # open connections, kept below the file limit; at the cap the idlest one closes
    header_timeout_s: float = 10.0  # a request's line and headers must arrive within this
    body_timeout_s: float = 60.0  # and its whole body within this (else 408 RequestTimeoutException)
    shutdown_grace_s: float = 20.0  # SIGTERM: requests finish within this, then get ThrottlingException
    buckets: str = ""  # Image.S3Object from local folders: "photos=/srv/photos,other=/data/x"
    s3_endpoint: str = ""  # or from an S3-compatible store (MinIO, Ceph, AWS): its URL
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    max_db_bytes: int = 0  # a cap on faceindex.db (0: none); writes past it are ServiceUnavailableException
    min_free_bytes: int = 16 * 1024 * 1024  # /readyz is 503 below this much room on the disk (or under the cap)
    metrics_auth: str = "none"  # none | key (any active access key, HTTP Basic as the REST API)
    metrics_collections: bool = False  # name each collection in /metrics (its faces); off: totals only

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        if env.get("FACEINDEX_CONFIG"):
            env = {**_read_file(Path(env["FACEINDEX_CONFIG"])), **env}
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"FACEINDEX_{f.name.upper()}")
            if raw is None or f.name == "limits":
                continue
            kwargs[f.name] = Path(raw) if f.name in ("model_cache", "data_dir") else _coerce(f.name, raw, f.type)
        limits = {}
        for f in fields(ImageLimits):
            raw = env.get(f"FACEINDEX_{f.name.upper()}")
            if raw is not None:
                limits[f.name] = _coerce(f.name, raw, "int")
        settings = cls(**kwargs, limits=ImageLimits(**limits))  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.detector not in ("blazeface", "mmod", "hog"):
            raise InvalidParameter(f"FACEINDEX_DETECTOR must be blazeface, mmod or hog, not {self.detector!r}")
        if self.landmarks not in ("mesh", "5", "68"):
            raise InvalidParameter(f"FACEINDEX_LANDMARKS must be mesh, 5 or 68, not {self.landmarks!r}")
        if self.vector_index not in ("auto", "exact", "hnsw"):
            raise InvalidParameter(f"FACEINDEX_VECTOR_INDEX must be auto, exact or hnsw, not {self.vector_index!r}")
        if not 0 <= self.detector_upsample <= 2:
            raise InvalidParameter("FACEINDEX_DETECTOR_UPSAMPLE must be 0, 1 or 2")
        if self.auth not in ("sigv4", "none"):
            raise InvalidParameter(f"FACEINDEX_AUTH must be sigv4 or none, not {self.auth!r}")
        if self.max_in_flight < 1 or self.max_waiting < 0 or self.max_body_bytes < 1024:
            raise InvalidParameter(
                "FACEINDEX_MAX_IN_FLIGHT >= 1, FACEINDEX_MAX_WAITING >= 0, FACEINDEX_MAX_BODY_BYTES >= 1024"
            )
        if self.metrics_auth not in ("none", "key"):
            raise InvalidParameter(f"FACEINDEX_METRICS_AUTH must be none or key, not {self.metrics_auth!r}")
        if self.metrics_auth == "key" and self.auth != "sigv4":
            raise InvalidParameter("FACEINDEX_METRICS_AUTH=key needs FACEINDEX_AUTH=sigv4 (keys are not checked)")
        if self.min_free_bytes < 0 or self.max_db_bytes < 0:
            raise InvalidParameter("FACEINDEX_MIN_FREE_BYTES and FACEINDEX_MAX_DB_BYTES must be >= 0")
        if self.max_db_bytes and self.max_db_bytes <= self.min_free_bytes:  # /readyz would never be ready
            raise InvalidParameter(
                f"FACEINDEX_MAX_DB_BYTES ({self.max_db_bytes}) must be 0 (no cap) or above "
                f"FACEINDEX_MIN_FREE_BYTES ({self.min_free_bytes})"
            )
        timeouts = (self.header_timeout_s, self.body_timeout_s)
        if self.max_connections < 1 or min(timeouts) <= 0 or self.shutdown_grace_s < 0:
            raise InvalidParameter(
                "FACEINDEX_MAX_CONNECTIONS >= 1, FACEINDEX_HEADER_TIMEOUT_S > 0, FACEINDEX_BODY_TIMEOUT_S > 0, "
                "FACEINDEX_SHUTDOWN_GRACE_S >= 0"
            )
        self.bucket_folders()

    def accepted_regions(self) -> frozenset[str]:
        """The regions a SigV4 credential scope may name."""
        listed = {part.strip() for part in self.signing_regions.split(",") if part.strip()}
        return frozenset(listed or {self.region})

    def bucket_folders(self) -> dict[str, Path]:
        """FACEINDEX_BUCKETS parsed: bucket name -> local folder."""
        folders = {}
        for item in filter(None, (part.strip() for part in self.buckets.split(","))):
            name, sep, folder = item.partition("=")
            if not sep or not name.strip() or not folder.strip():
                raise InvalidParameter(f"FACEINDEX_BUCKETS items are name=/folder, not {item!r}")
            folders[name.strip()] = Path(folder.strip())
        return folders


def _read_file(path: Path) -> dict[str, str]:
    """A TOML settings file as FACEINDEX_ variables (nested tables are flattened: [limits] max_bytes)."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidParameter(f"FACEINDEX_CONFIG {path}: {error}") from None
    flat: dict[str, str] = {}
    for key, value in data.items():
        items = value.items() if isinstance(value, dict) else [(key, value)]
        for name, item in items:
            flat[f"FACEINDEX_{str(name).upper()}"] = str(item)
    return flat


def _coerce(name: str, raw: str, kind: object) -> object:
    if kind in (bool, "bool"):
        if raw.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise InvalidParameter(f"FACEINDEX_{name.upper()} must be true or false, not {raw!r}")
        return raw.strip().lower() in ("true", "1", "yes")
    if kind in (int, "int"):
        try:
            return int(raw)
        except ValueError:
            raise InvalidParameter(f"FACEINDEX_{name.upper()} must be an integer, not {raw!r}") from None
    if kind in (float, "float"):
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InvalidParameter(f"FACEINDEX_{name.upper()} must be a number of seconds, not {raw!r}")
        return value
    return raw
