"""The import rules of docs/architecture.md, enforced."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "faceindex"


def _imports(path: Path) -> set[str]:
    return set(re.findall(r"^\s*(?:from|import)\s+([\w.]+)", path.read_text(), re.MULTILINE))


def test_only_models_imports_the_inference_runtimes() -> None:
    for path in SRC.rglob("*.py"):
        names = _imports(path)
        if "models" not in path.relative_to(SRC).parts:
            assert not {"onnxruntime", "onnx", "dlib", "ai_edge_litert.interpreter"} & names, path


def test_lower_layers_do_not_import_upper_layers() -> None:
    lower = ["models", "imaging", "analysis", "store"]
    for folder in lower:
        for path in (SRC / folder).rglob("*.py"):
            for name in _imports(path):
                assert not name.startswith(("faceindex.service", "faceindex.cli", "faceindex.pipeline")), path


def test_only_the_sqlite_store_imports_sqlite3() -> None:
    for path in SRC.rglob("*.py"):
        if "sqlite" not in path.relative_to(SRC).parts:
            assert "sqlite3" not in _imports(path), path


def test_only_the_api_imports_the_web_stack() -> None:
    web = ("fastapi", "starlette", "uvicorn", "prometheus_client", "anyio")
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] != "api":
            assert not [name for name in _imports(path) if name.startswith(web)], path


def test_the_service_layer_knows_no_adapter() -> None:
    for path in (SRC / "service").rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(("faceindex.api", "faceindex.cli")), path


def test_the_engine_names_no_model_and_the_registry_knows_every_choice() -> None:
    """Models are chosen by `models.registry` (issue 11.6): the pipeline names none, and every detector or
    landmark model a setting may name is in the registry (and the other way round)."""
    from faceindex.config import CHOICES
    from faceindex.models import registry

    pipeline = (SRC / "pipeline.py").read_text()
    for name in [*registry.DETECTORS, *registry.LANDMARKERS, "onnx", "tflite", "dlib."]:
        assert f'"{name}"' not in pipeline and f"'{name}'" not in pipeline, name
    assert set(CHOICES["detector"]) == set(registry.DETECTORS)
    assert set(CHOICES["landmarks"]) == set(registry.LANDMARKERS)


def test_the_server_reaches_use_cases_only_through_the_service_door() -> None:
    """Issue 13: Rekognition's protocol and the REST API hand every call to `service.invoke` (which
    authorises, applies policy, runs and audits); none calls a use-case module or writes an audit entry."""
    use_cases = ("search", "users", "collections", "indexing", "faces", "erasure", "admin", "idempotency")
    for path in (SRC / "api").rglob("*.py"):
        names = _imports(path)
        text = path.read_text()
        assert not [n for n in names if n in {f"faceindex.service.{u}" for u in use_cases}], path
        assert not re.search(r"from faceindex\.service import .*\b(" + "|".join(use_cases) + r")\b", text), path
        assert ".audit.append(" not in text, path
