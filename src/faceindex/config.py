"""Settings, read from an optional TOML file and the environment, checked once; a mistake stops the program.

The file is named by FACEINDEX_CONFIG and is written in sections (`[server]` then `port = 8080`; every
setting is in faceindex.example.toml); each setting is also the variable FACEINDEX_<ATTRIBUTE>
(FACEINDEX_PORT, FACEINDEX_S3_ENDPOINT), and the environment wins over the file. An unknown key, section
or FACEINDEX_ variable is refused with the closest valid name, and every error names where the value
came from (`server.port in /etc/faceindex.toml`, or the variable).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config

from faceindex.errors import InvalidParameter

# TOML has a `5` where a name (`landmarks = "5"`) is meant; NaN is no duration; no key is ignored
_VALUES = ConfigDict(extra="forbid", allow_inf_nan=False, coerce_numbers_to_str=True)
PREFIX = "FACEINDEX_"


def _default_data() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "faceindex"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "faceindex" / "models"


# the values a setting may take; detector and landmarks are the names in models.registry (a test checks)
CHOICES = {
    "detector": ("blazeface", "mmod", "hog"),
    "landmarks": ("mesh", "5", "68"),
    "alignment": ("facemesh", "dlib5"),
    "vector_index": ("auto", "exact", "hnsw"),
    "auth": ("sigv4", "none"),
    "metrics_auth": ("none", "key"),
}


@with_config(_VALUES)
@dataclass(frozen=True)
class ImageLimits:
    """Rekognition's documented limits are the defaults."""

    max_bytes: int = 5 * 1024 * 1024  # Image.Bytes
    max_file_bytes: int = 15 * 1024 * 1024  # a file on disk or an object in a store
    max_pixels: int = 40_000_000
    min_side: int = 80


@with_config(_VALUES)
@dataclass(frozen=True)
class Settings:
    model_cache: Path = field(default_factory=_default_cache)
    data_dir: Path = field(default_factory=_default_data)  # the embedded store: faceindex.db + indexes/
    vector_index: str = "auto"  # auto (exact below 50,000 faces, else HNSW) | exact | hnsw
    region: str = "us-east-1"  # for ARNs, as Rekognition writes them, and the region SigV4 scopes must name
    signing_regions: str = ""  # or these, comma-separated ("us-east-1,eu-west-1"); "" is `region` alone
    account_id: str = "000000000000"
    detector: str = "blazeface"  # blazeface (tiled, faces from ~20 px) | mmod (dlib's CNN) | hog (dlib's HOG)
    # face_recognition's number_of_times_to_upsample, for every detector: each step halves the smallest face
    # found and costs ~4x (blazeface: 0 ~40 px, 1 ~20 px, 2 ~10 px; mmod / hog: 0 ~80 px, 1 ~40 px, 2 ~20 px)
    detector_upsample: int = 1
    landmarks: str = "mesh"  # mesh (FaceMesh, Apache-2.0) | 5 (dlib, public domain) | 68 (opt-in: non-commercial)
    # the descriptor's chip: facemesh (FaceMesh's eye corners and nose, chip + mirror averaged; dlib's 5 points
    # where there is no sure mesh) | dlib5 (dlib's 5-point model, one chip: face_recognition's descriptor)
    alignment: str = "facemesh"
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
    # the server's housekeeping: retention erasures (collections with a retention period) and a signed audit head
    housekeeping_s: float = 3600.0
    cors_origins: str = ""  # browser origins that may call the APIs, comma-separated ("https://app.example")
    # stored-video jobs (StartFaceDetection / StartFaceSearch): frames sampled a second (AWS documents none),
    # the detector's upsampling for them (0: faces from ~40 px, ~1.5x faster than 1), jobs running at once,
    # jobs IN_PROGRESS before Start answers LimitExceededException (Rekognition's default quota), days kept
    video_fps: float = 5.0
    video_detector_upsample: int = 0
    video_workers: int = 1
    video_max_jobs: int = 20
    video_results_days: float = 7.0
    # a Start's NotificationChannel is published to this SNS-compatible endpoint ("" refuses the channel)
    sns_endpoint: str = ""
    sns_region: str = "us-east-1"
    sns_access_key_id: str = ""
    sns_secret_access_key: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of FACEINDEX_CONFIG's file and the FACEINDEX_ variables of `environ` (os.environ)."""
        env = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        sources: dict[str, str] = {}
        problems = _unknown_variables(env)
        if env.get("FACEINDEX_CONFIG"):
            path = Path(env["FACEINDEX_CONFIG"])
            problems += _read_file(path, values)
            sources = {name: f"{_dotted(name)} in {path}" for name in values}  # each read from a section
        for name in setting_names():
            if (raw := env.get(variable(name))) is not None:
                values[name], sources[name] = raw, variable(name)
        if problems:
            raise InvalidParameter("; ".join(problems))

        def source(name: str) -> str:
            return sources.get(name) or variable(name)

        settings = _typed(values, source)
        settings.validate(source)
        return settings

    def validate(self, source: Callable[[str], str] | None = None) -> None:
        """Refuse values no part of the program can use; `source` names a setting where it was given."""
        name = source or variable
        for setting, allowed in CHOICES.items():
            if (value := getattr(self, setting)) not in allowed:
                options = f"{', '.join(allowed[:-1])} or {allowed[-1]}"
                raise InvalidParameter(f"{name(setting)} must be {options}, not {value!r}")
        lowest = {"detector_upsample": 0, "threads": 0, "port": 1, "max_body_bytes": 1024, "max_in_flight": 1}
        lowest |= {"max_waiting": 0, "max_connections": 1, "shutdown_grace_s": 0, "max_db_bytes": 0}
        lowest |= {"min_free_bytes": 0} | {f"limits.{f.name}": 1 for f in dataclasses.fields(ImageLimits)}
        lowest |= {"video_detector_upsample": 0, "video_workers": 1, "video_max_jobs": 1}
        highest = {"detector_upsample": 2, "video_detector_upsample": 2, "port": 65535}
        for setting, low in lowest.items():
            value = cast(float, _attribute(self, setting))
            if not low <= value <= highest.get(setting, value):
                bound = f"from {low} to {highest[setting]}" if setting in highest else f"at least {low}"
                raise InvalidParameter(f"{name(setting)} must be {bound}, not {value}")
        for setting in ("header_timeout_s", "body_timeout_s"):
            if getattr(self, setting) <= 0:
                raise InvalidParameter(f"{name(setting)} must be above 0 seconds")
        for setting in ("video_fps", "video_results_days"):
            if not getattr(self, setting) > 0:
                raise InvalidParameter(f"{name(setting)} must be above 0")
        if self.metrics_auth == "key" and self.auth != "sigv4":
            raise InvalidParameter(
                f"{name('metrics_auth')} is key, which needs {name('auth')} sigv4 (with none no key is checked)"
            )
        if self.max_db_bytes and self.max_db_bytes <= self.min_free_bytes:  # /readyz would never be ready
            raise InvalidParameter(
                f"{name('max_db_bytes')} ({self.max_db_bytes}) must be 0 (no cap) or above "
                f"{name('min_free_bytes')} ({self.min_free_bytes})"
            )
        self.bucket_folders(name("buckets"))

    def accepted_regions(self) -> frozenset[str]:
        """The regions a SigV4 credential scope may name."""
        listed = {part.strip() for part in self.signing_regions.split(",") if part.strip()}
        return frozenset(listed or {self.region})

    def bucket_folders(self, source: str = "FACEINDEX_BUCKETS") -> dict[str, Path]:
        """FACEINDEX_BUCKETS parsed: bucket name -> local folder."""
        folders = {}
        for item in filter(None, (part.strip() for part in self.buckets.split(","))):
            name, sep, folder = item.partition("=")
            if not sep or not name.strip() or not folder.strip():
                raise InvalidParameter(f"{source} items are name=/folder, not {item!r}")
            folders[name.strip()] = Path(folder.strip())
        return folders


def _same(*keys: str) -> dict[str, str]:
    return {key: key for key in keys}


# The file's sections: key in the file -> the setting (Settings attribute) it fills.
SECTIONS: dict[str, dict[str, str]] = {
    "engine": _same("model_cache", "detector", "detector_upsample", "landmarks", "alignment", "threads"),
    "store": _same("data_dir", "vector_index", "max_db_bytes", "min_free_bytes"),
    "server": _same("host", "port", "auth", "region", "signing_regions", "account_id", "max_body_bytes")
    | _same("max_in_flight", "max_waiting", "max_connections", "header_timeout_s", "body_timeout_s")
    | _same("shutdown_grace_s", "cors_origins", "housekeeping_s"),
    "s3": {"buckets": "buckets", "endpoint": "s3_endpoint", "region": "s3_region"}
    | {"access_key_id": "s3_access_key_id", "secret_access_key": "s3_secret_access_key"},
    "limits": {f.name: f"limits.{f.name}" for f in dataclasses.fields(ImageLimits)},
    "metrics": {"auth": "metrics_auth", "collections": "metrics_collections"},
    "video": {key: f"video_{key}" for key in ("fps", "detector_upsample", "workers", "max_jobs", "results_days")},
    "sns": {key: f"sns_{key}" for key in ("endpoint", "region", "access_key_id", "secret_access_key")},
}

# FACEINDEX_ variables that are not settings: read elsewhere, or by the tests and the Makefile
OTHER_VARIABLES = frozenset(
    {"FACEINDEX_CONFIG", "FACEINDEX_MASTER_KEY", "FACEINDEX_TESTDATA", "FACEINDEX_FUZZ_SEED", "FACEINDEX_FUZZ_SCALE"}
)


def setting_names() -> list[str]:
    """Every setting as the program reads it: `port`, `limits.max_bytes`."""
    top = [f.name for f in dataclasses.fields(Settings) if f.name != "limits"]
    return top + [f"limits.{f.name}" for f in dataclasses.fields(ImageLimits)]


def variable(name: str) -> str:
    """A setting's environment variable: port -> FACEINDEX_PORT, limits.max_bytes -> FACEINDEX_MAX_BYTES."""
    return PREFIX + name.rpartition(".")[2].upper()


def _dotted(name: str) -> str | None:
    """A setting as the file writes it: s3_endpoint -> s3.endpoint, limits.max_bytes -> limits.max_bytes."""
    return next((f"{s}.{key}" for s, keys in SECTIONS.items() for key, n in keys.items() if n == name), None)


def _unknown_variables(env: Mapping[str, str]) -> list[str]:
    known = {variable(name) for name in setting_names()} | OTHER_VARIABLES
    problems = []
    for given in sorted(key for key in env if key.upper().startswith(PREFIX) and key not in known):
        section, _, key = given[len(PREFIX) :].lower().partition("__")  # pydantic-settings' nested form
        nested = SECTIONS.get(section, {}).get(key)
        close = _closest(given[len(PREFIX) :].upper(), sorted(name[len(PREFIX) :] for name in known))  # not by prefix
        guess = variable(nested) if nested else close and PREFIX + close
        problems.append(f"{given} is not a setting{_hint(guess)}")
    return problems


def _read_file(path: Path, values: dict[str, object]) -> list[str]:
    """The file's settings into `values`; what is wrong in it, each with the file's name."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidParameter(f"FACEINDEX_CONFIG {path}: {error}") from None
    problems = []
    for section, table in data.items():
        if section not in SECTIONS:
            problems.append(_misplaced(section, isinstance(table, dict), path))
        elif not isinstance(table, dict):
            problems.append(f"{section} in {path} must be a table: [{section}] then its settings")
        else:
            for key, value in table.items():
                if key in SECTIONS[section]:
                    values[SECTIONS[section][key]] = value
                else:
                    problems.append(f"{section}.{key} in {path} is not a setting{_hint(_closest_key(key, section))}")
    return problems


def _misplaced(key: str, is_table: bool, path: Path) -> str:
    """An unknown top-level key: a misspelt section, a setting outside its section, or neither."""
    if is_table:
        return f"{key} in {path} is not a section{_hint(_closest(key, list(SECTIONS)))}"
    if dotted := _dotted(key) or _dotted(f"limits.{key}"):  # a flat key, as files were once written
        return f"{key} in {path} belongs in a section: write it as {dotted} ([{dotted.split('.')[0]}] then {key} = …)"
    return f"{key} in {path} is not a setting{_hint(_closest_key(key, ''))}"


def _closest_key(key: str, section: str) -> str | None:
    """The closest `section.key`: in the same section first, then in any (a setting in the wrong section)."""
    if same := _closest(key, list(SECTIONS.get(section, {}))):
        return f"{section}.{same}"
    everywhere = [f"{s}.{k}" for s, keys in SECTIONS.items() for k in keys]
    by_key = {dotted.partition(".")[2]: dotted for dotted in reversed(everywhere)}  # the first section wins
    close = _closest(key, list(by_key))
    return by_key[close] if close else None


def _closest(word: str, names: list[str]) -> str | None:
    return next(iter(difflib.get_close_matches(word, names, n=1)), None)


def _hint(guess: str | None) -> str:
    return f"; did you mean {guess}?" if guess else ""


def _typed(values: Mapping[str, object], source: Callable[[str], str]) -> Settings:
    """Settings from text and TOML values, each converted to its attribute's type."""
    top: dict[str, object] = {}
    limits: dict[str, object] = {}
    for name, value in values.items():
        part, _, sub = name.partition(".")
        if sub:
            limits[sub] = value
        else:
            top[part] = (
                os.path.expanduser(value) if part in ("data_dir", "model_cache") and isinstance(value, str) else value
            )
    try:
        return TypeAdapter(Settings).validate_python({**top, "limits": limits})
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"])
            message = str(problem["msg"])
            shown = "" if "secret" in name else f", not {problem['input']!r}"  # a secret is never repeated
            problems.append(f"{source(name)}: {message[:1].lower()}{message[1:]}{shown}")
        raise InvalidParameter("; ".join(problems)) from None


def _attribute(settings: Settings, name: str) -> object:
    value: object = settings
    for part in name.split("."):
        value = getattr(value, part)
    return value
