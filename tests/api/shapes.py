"""A strict check of a raw JSON response against botocore's output shape: no unknown members,
every required member present, every value of the modelled type (and enum)."""

from __future__ import annotations

from typing import Any

from botocore.model import Shape


def shape_errors(value: Any, shape: Shape | None, path: str = "$") -> list[str]:
    if shape is None:
        return [] if value in ({}, None) else [f"{path}: the operation has no output, got {value!r}"]
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object ({shape.name})"]
        errors = [f"{path}.{k}: not a member of {shape.name}" for k in value if k not in shape.members]
        errors += [f"{path}.{k}: required member missing" for k in shape.required_members if k not in value]
        for key, member in shape.members.items():
            if key in value:
                errors += shape_errors(value[key], member, f"{path}.{key}")
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: expected a list ({shape.name})"]
        return [e for i, item in enumerate(value) for e in shape_errors(item, shape.member, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map ({shape.name})"]
        return [e for k, v in value.items() for e in shape_errors(v, shape.value, f"{path}[{k!r}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string"]
        enum = shape.enum
        return [f"{path}: {value!r} is not one of {enum}"] if enum and value not in enum else []
    if kind in ("integer", "long"):
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: expected an integer"]
    if kind in ("float", "double", "timestamp"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number ({kind})"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: expected a boolean"]
    if kind == "blob":
        return [] if isinstance(value, str) else [f"{path}: expected base64 text"]
    return [f"{path}: unexpected shape type {kind}"]
