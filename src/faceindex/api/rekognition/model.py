"""botocore's Rekognition model: the operations, their input and output shapes.

Requests are decoded and validated against the input shape (blobs from base64, then botocore's
own ParamValidator, the check every SDK runs before sending). Responses are projected onto the
output shape: our result types sometimes carry more than a Rekognition shape (ComparedFace has no
EyesOpen), and timestamps travel as epoch seconds.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import math
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator

from faceindex.errors import InvalidParameter
from faceindex.service import validation

SERVICE = "rekognition"


class SerializationError(InvalidParameter):
    """The body is not what the JSON protocol allows (AWS answers SerializationException)."""

    code = "SerializationException"


@cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model(SERVICE)


def operation(name: str) -> OperationModel | None:
    model = service_model()
    return model.operation_model(name) if name in model.operation_names else None


def decode_input(params: Any, operation_model: OperationModel) -> dict[str, Any]:
    """The request's members with blobs decoded, validated against the input shape."""
    if not isinstance(params, dict):
        raise SerializationError("The request body must be a JSON object.")
    shape = operation_model.input_shape
    decoded = _decode(params, shape, "") if shape is not None else {}
    if shape is not None:
        report = ParamValidator().validate(decoded, shape)
        if report.has_errors():
            raise InvalidParameter(_first_line(report.generate_report()))
    return decoded


def _first_line(report: str) -> str:
    lines = [
        line.strip() for line in report.splitlines() if line.strip() and not line.startswith("Parameter validation")
    ]
    return (lines[0] if lines else "Invalid request parameters.")[:300]


def _decode(value: Any, shape: Shape, path: str) -> Any:
    if isinstance(value, str):
        _check_text(value, path)
    if isinstance(value, dict):
        for key in value:
            _check_text(key, path)
    if shape.type_name == "structure" and isinstance(value, dict):
        assert isinstance(shape, StructureShape)
        out = {}
        for key, member in value.items():
            if key not in shape.members:
                raise InvalidParameter(
                    f'Unknown parameter in input: "{path + key}", must be one of: {", ".join(shape.members)}'
                )
            out[key] = _decode(member, shape.members[key], f"{path}{key}.")
        return out
    if shape.type_name == "list" and isinstance(value, list):
        _check_length(len(value), shape, path)
        return [_decode(item, shape.member, path) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _decode(v, shape.value, path) for k, v in value.items()}
    if shape.type_name == "blob" and isinstance(value, str):
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SerializationError(f"{path.rstrip('.')}: not valid base64.") from None
        _check_length(len(data), shape, path, maximum=False)  # too long is ImageTooLargeException, later
        return data
    if shape.type_name == "string" and isinstance(value, str):
        _check_length(len(value), shape, path)
    if shape.type_name in ("float", "double") and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)  # JSON has one number type; 80 is a valid float
        except OverflowError:  # 10**400: past any float, so past any range the model allows
            raise InvalidParameter(f"Value at '{path.rstrip('.')}' is out of range for a float.") from None
    return value


def _check_text(value: str, path: str) -> None:
    """JSON may escape a lone surrogate ("\\ud800") and Python's parser passes raw UTF-8 surrogates
    through: neither is Unicode text, and neither can be stored or logged as UTF-8."""
    if not validation.is_text(value):
        raise SerializationError(f"{path.rstrip('.') or 'The request body'}: not valid UTF-8 text.")


def _check_length(length: int, shape: Shape, path: str, maximum: bool = True) -> None:
    """The model's length constraints, which botocore's client-side validator leaves to the service."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    where = path.rstrip(".") or shape.name
    if low is not None and length < low:
        raise InvalidParameter(f"Value at '{where}' failed to satisfy constraint: Member must have length >= {low}")
    if maximum and high is not None and length > high:
        raise InvalidParameter(f"Value at '{where}' failed to satisfy constraint: Member must have length <= {high}")


def conform(value: Any, shape: Shape | None) -> Any:
    """`value` (dicts, lists, scalars) projected onto `shape`, as the JSON protocol writes it."""
    if shape is None or value is None:
        return {} if shape is None else None
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        out = {}
        for name, member in shape.members.items():
            if isinstance(value, dict) and value.get(name) is not None:
                out[name] = conform(value[name], member)
        return out
    if kind == "list":
        return [conform(item, shape.member) for item in value]
    if kind == "map":
        return {str(k): conform(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        number = float(value)
        return number if math.isfinite(number) else 0.0  # JSON has no NaN; SDKs would fail to parse it
    if kind == "boolean":
        return bool(value)
    if kind == "blob":
        return base64.b64encode(value).decode()
    return str(value)
