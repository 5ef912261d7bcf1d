"""Settings as a user writes them: a TOML file in sections, FACEINDEX_* variables, and the mistakes they make."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from faceindex.config import ImageLimits, Settings
from faceindex.errors import InvalidParameter

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "faceindex.example.toml"
COMMENTED_SETTING = re.compile(r"^#(\w+) = (.+)$")  # `#port = 8080`; explanations are `# ...`


def load(tmp_path: Path, text: str, **env: str) -> Settings:
    config = tmp_path / "faceindex.toml"
    config.write_text(text)
    return Settings.from_env({"FACEINDEX_CONFIG": str(config), **env})


def refusal(tmp_path: Path, text: str, **env: str) -> str:
    with pytest.raises(InvalidParameter) as raised:
        load(tmp_path, text, **env)
    return raised.value.message


def every_setting() -> list[str]:
    """Every attribute a setting fills, as the program reads it (`port`, `limits.max_bytes`)."""
    top = [f.name for f in dataclasses.fields(Settings) if f.name != "limits"]
    return top + [f"limits.{f.name}" for f in dataclasses.fields(ImageLimits)]


def attribute(settings: Settings, name: str) -> object:
    value: object = settings
    for part in name.split("."):
        value = getattr(value, part)
    return value


def test_sections_fill_the_settings_and_the_environment_wins(tmp_path: Path) -> None:
    text = """
[server]
port = 9000
host = "127.0.0.2"
[s3]
buckets = "photos=/srv/photos"
endpoint = "http://127.0.0.1:9009"
[limits]
max_bytes = 1000
[metrics]
collections = true
[engine]
landmarks = 5
"""
    settings = load(tmp_path, text, FACEINDEX_PORT="9100")
    assert (settings.port, settings.host, settings.limits.max_bytes) == (9100, "127.0.0.2", 1000)
    assert settings.bucket_folders() == {"photos": Path("/srv/photos")}
    assert (settings.s3_endpoint, settings.metrics_collections, settings.landmarks) == (
        "http://127.0.0.1:9009",
        True,
        "5",
    )


def test_an_unknown_variable_is_refused_with_the_closest_name() -> None:
    with pytest.raises(InvalidParameter, match=r"FACEINDEX_DETECTER.*did you mean FACEINDEX_DETECTOR\?"):
        Settings.from_env({"FACEINDEX_DETECTER": "mmod"})
    with pytest.raises(InvalidParameter, match=r"FACEINDEX_SERVER__PORT.*did you mean FACEINDEX_PORT\?"):
        Settings.from_env({"FACEINDEX_SERVER__PORT": "9000"})  # pydantic-settings' nested spelling
    with pytest.raises(InvalidParameter, match="FACEINDEX_ZZZ is not a setting") as raised:
        Settings.from_env({"FACEINDEX_ZZZ": "1"})
    assert "did you mean" not in raised.value.message


def test_variables_that_are_not_settings_stay_allowed() -> None:
    others = ("FACEINDEX_MASTER_KEY", "FACEINDEX_TESTDATA", "FACEINDEX_FUZZ_SEED", "FACEINDEX_FUZZ_SCALE")
    settings = Settings.from_env({"FACEINDEX_CONFIG": "", **dict.fromkeys(others, "x"), "OTHER_VARIABLE": "y"})
    assert settings == Settings()


def test_an_unknown_key_in_the_file_is_refused_with_the_file_and_the_closest_name(tmp_path: Path) -> None:
    config = tmp_path / "faceindex.toml"
    message = refusal(tmp_path, "prot = 9090\n")
    assert f"prot in {config} is not a setting; did you mean server.port?" in message
    assert "did you mean server.port?" in refusal(tmp_path, "[server]\nprot = 9090\n")
    assert "sever in" in refusal(tmp_path, "[sever]\nport = 9090\n")
    assert "did you mean server?" in refusal(tmp_path, "[sever]\nport = 9090\n")
    # a setting in the wrong section, and today's flat keys, say where the setting goes
    assert "did you mean server.port?" in refusal(tmp_path, "[engine]\nport = 9090\n")
    flat = refusal(tmp_path, 's3_endpoint = "http://minio:9000"\n')
    assert f"s3_endpoint in {config} belongs in a section: write it as s3.endpoint" in flat


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    message = refusal(tmp_path, "prot = 1\n[limits]\nmax_byte = 2\n", FACEINDEX_HSOT="x")
    assert all(name in message for name in ("FACEINDEX_HSOT", "prot in", "limits.max_byte in"))


def test_a_bad_value_names_its_source(tmp_path: Path) -> None:
    config = tmp_path / "faceindex.toml"
    assert f"server.port in {config}: input should be a valid integer" in refusal(tmp_path, '[server]\nport = "x"\n')
    with pytest.raises(InvalidParameter, match=r"^FACEINDEX_PORT: input should be a valid integer.*'x'"):
        Settings.from_env({"FACEINDEX_PORT": "x"})
    detector = refusal(tmp_path, '[engine]\ndetector = "mtcnn"\n')
    assert f"engine.detector in {config} must be blazeface, mmod or hog, not 'mtcnn'" in detector
    # the variable that overrides the file is the one named
    assert "FACEINDEX_DETECTOR must be" in refusal(tmp_path, '[engine]\ndetector = "hog"\n', FACEINDEX_DETECTOR="x")
    assert "FACEINDEX_HEADER_TIMEOUT_S: input should be a finite number" in refusal(
        tmp_path, "", FACEINDEX_HEADER_TIMEOUT_S="nan"
    )
    with pytest.raises(InvalidParameter, match="FACEINDEX_BUCKETS"):
        Settings.from_env({"FACEINDEX_BUCKETS": "no-folder"})
    assert "server.port in" in refusal(tmp_path, "[server]\nport = 70000\n")


def test_a_secret_is_not_repeated_in_an_error(tmp_path: Path) -> None:
    message = refusal(tmp_path, '[s3]\nsecret_access_key = ["hunter2-secret"]\n')
    assert "s3.secret_access_key in" in message and "hunter2" not in message


def test_an_unreadable_file_names_the_variable(tmp_path: Path) -> None:
    assert "FACEINDEX_CONFIG" in refusal(tmp_path, "port = [")
    with pytest.raises(InvalidParameter, match="FACEINDEX_CONFIG"):
        Settings.from_env({"FACEINDEX_CONFIG": str(tmp_path / "missing.toml")})
    assert "must be a table" in refusal(tmp_path, "server = 1\n")


def test_a_folder_may_start_with_a_tilde(tmp_path: Path) -> None:
    settings = load(tmp_path, '[store]\ndata_dir = "~/faces"\n', FACEINDEX_MODEL_CACHE="~/models")
    assert (settings.data_dir, settings.model_cache) == (Path.home() / "faces", Path.home() / "models")


def example_with_every_setting_uncommented() -> str:
    return "\n".join(line[1:] if COMMENTED_SETTING.match(line) else line for line in EXAMPLE.read_text().splitlines())


def test_the_example_file_shows_every_setting_at_its_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)  # the folders' defaults, as the example writes them
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    shown = [COMMENTED_SETTING.match(line) for line in EXAMPLE.read_text().splitlines()]
    assert len([match for match in shown if match]) == len(every_setting())  # each once
    assert Settings.from_env({"FACEINDEX_CONFIG": str(EXAMPLE)}) == Settings()  # as shipped: all commented out
    settings = load(tmp_path, example_with_every_setting_uncommented())
    for name in every_setting():
        assert attribute(settings, name) == attribute(Settings(), name), name
    # and each line sets the setting it names ([s3] endpoint: s3_endpoint; [limits] max_bytes: limits.max_bytes)
    lines = EXAMPLE.read_text().splitlines()
    section = ""
    for number, line in enumerate(lines):
        section = line.strip("[]") if line.startswith("[") else section
        if shown := COMMENTED_SETTING.match(line):
            key, value = shown.groups()
            text = "\n".join([*lines[:number], f"{key} = {_other(key, value)}", *lines[number + 1 :]])
            changed = load(tmp_path, text)
            differ = [name for name in every_setting() if attribute(changed, name) != attribute(Settings(), name)]
            named = next(name for name in (f"{section}_{key}", f"{section}.{key}", key) if name in every_setting())
            assert differ == [named], line


def _other(key: str, value: str) -> str:
    """Another valid value for a setting shown at `value`."""
    if value in ("true", "false"):
        return "false" if value == "true" else "true"
    if value.startswith('"'):
        choices = {"blazeface": "hog", "mesh": "68", "auto": "exact", "sigv4": "none", "none": "key", "": "x"}
        choices["facemesh"] = "dlib5"
        text = value.strip('"')
        return '"a=/a"' if key == "buckets" else f'"{"/x" if text.startswith("~") else choices.get(text, text + "x")}"'
    if key == "max_db_bytes":
        return str(10**12)
    return str(float(value) + 1) if "." in value else str(int(value.replace("_", "")) + 1)


def test_the_configuration_doc_names_every_variable() -> None:
    doc = (ROOT / "docs/configuration.md").read_text()
    missing = [name for name in every_setting() if f"FACEINDEX_{name.split('.')[-1].upper()}`" not in doc]
    assert missing == []


def test_the_cli_stops_on_a_misspelt_variable_or_key(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FACEINDEX_")}
    command = [sys.executable, "-m", "faceindex.cli.main", "detect", str(tmp_path / "photo.jpg")]
    done = subprocess.run(command, capture_output=True, text=True, env={**env, "FACEINDEX_DETECTER": "x"}, timeout=120)
    assert done.returncode == 2
    assert "FACEINDEX_DETECTER is not a setting; did you mean FACEINDEX_DETECTOR?" in done.stderr
    assert "Traceback" not in done.stderr
    config = tmp_path / "faceindex.toml"
    config.write_text("[server]\nprot = 9090\n")
    served = subprocess.run(
        [sys.executable, "-m", "faceindex.cli.main", "serve"],
        capture_output=True,
        text=True,
        env={**env, "FACEINDEX_CONFIG": str(config)},
        timeout=120,
    )
    assert served.returncode == 2
    assert f"server.prot in {config} is not a setting; did you mean server.port?" in served.stderr
    assert "Traceback" not in served.stderr
