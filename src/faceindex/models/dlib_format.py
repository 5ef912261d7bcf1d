"""Reader for dlib's serialisation format (the `.dat` files of `face_recognition_models`).

dlib does not store a network's topology, only its layers' payloads in a fixed order that follows
the C++ template type. The caller therefore passes the expected layer sequence (top of the network
first, as the C++ type is written) and the reader checks every version number and payload tag
against it, consuming the whole file. A file of any other shape fails loudly with `ModelFormatError`.

Format facts are documented in `docs/models.md` (from `dlib/serialize.h`, `dlib/dnn/*.h`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from faceindex.errors import ModelFormatError

FloatArray = npt.NDArray[np.float32]


class DlibStream:
    """A cursor over the bytes of a dlib-serialised object."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self.pos = 0

    def _take(self, n: int) -> memoryview:
        if self.pos + n > len(self._data):
            raise ModelFormatError(f"unexpected end of model file at byte {self.pos}")
        chunk = self._data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    @property
    def at_end(self) -> bool:
        return self.pos == len(self._data)

    def read_int(self) -> int:
        """dlib's packed integer: a control byte (low nibble = byte count, bit 7 = sign) + LE bytes."""
        control = self._take(1)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise ModelFormatError(f"bad integer control byte {control:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if control & 0x80 else value

    def read_float(self) -> float:
        """dlib's portable float: packed int64 mantissa and int16 exponent, value = m * 2**e."""
        mantissa = self.read_int()
        exponent = self.read_int()
        specials = {32000: math.inf, 32001: -math.inf, 32002: math.nan}
        if exponent in specials:
            return specials[exponent]
        return math.ldexp(float(mantissa), exponent)

    def read_bool(self) -> bool:
        byte = bytes(self._take(1))
        if byte not in (b"0", b"1"):
            raise ModelFormatError(f"bad bool byte {byte!r} at byte {self.pos - 1}")
        return byte == b"1"

    def read_string(self) -> str:
        length = self.read_int()
        return bytes(self._take(length)).decode("ascii", errors="replace")

    def read_tensor(self) -> FloatArray:
        """A resizable_tensor: version 2, four dims (n, k, nr, nc), raw float32 data."""
        version = self.read_int()
        if version != 2:
            raise ModelFormatError(f"unexpected tensor version {version}")
        dims = tuple(self.read_int() for _ in range(4))
        count = math.prod(dims)
        raw = self._take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(dims)

    def read_alias_tensor(self) -> tuple[int, int, int, int]:
        version = self.read_int()
        if version != 1:
            raise ModelFormatError(f"unexpected alias_tensor version {version}")
        n, k, nr, nc = (self.read_int() for _ in range(4))
        return (n, k, nr, nc)


# --- the expected structure -------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One entry of a network's template type. `kind` names the dlib layer family."""

    kind: str  # con | affine | relu | max_pool | avg_pool | fc | add_prev | tag | skip
    ref: int = 0  # tag / skip / add_prev id
    params: dict[str, Any] = field(default_factory=dict, compare=False)


_PAYLOAD_TAGS = {
    "con": ("con_4", "con_5", "con_6"),
    "affine": ("affine_", "affine_2", "bn_con2"),
    "relu": ("relu_", "relu_2"),
    "max_pool": ("max_pool_2",),
    "avg_pool": ("avg_pool_2",),
    "fc": ("fc_2", "fc_3"),
    "add_prev": ("add_prev_",),
}


@dataclass
class ParsedNet:
    loss: dict[str, Any]
    input: dict[str, Any]
    layers: list[Layer]  # top of the network first, payloads filled in


def parse_net(data: bytes, expected: list[str | tuple[str, int]]) -> ParsedNet:
    """Parse a dlib network file whose template type is `expected` (top first, input excluded)."""
    stream = DlibStream(data)
    if stream.read_int() != 1:
        raise ModelFormatError("not a dlib network file: bad loss layer version")
    loss = _read_loss(stream)
    layers: list[Layer] = []
    input_payload: dict[str, Any] = {}

    def read(index: int) -> None:
        nonlocal input_payload
        item = expected[index]
        kind, ref = (item, 0) if isinstance(item, str) else item
        if kind in ("tag", "skip"):
            _expect(stream.read_int() == 1, f"{kind}{ref}: bad version")
            layers.append(Layer(kind, ref))
            read(index + 1)
            return
        bottom = index == len(expected) - 1
        version = stream.read_int()
        if bottom:
            _expect(version in (2, 3), f"bottom layer: bad version {version}")
            input_payload = _read_input(stream)
        else:
            _expect(version in (1, 2), f"layer {index} ({kind}): bad version {version}")
            read(index + 1)
        params = _read_payload(stream, kind)
        layers.append(Layer(kind, ref, params))
        for _ in range(3):
            stream.read_bool()
        for _ in range(2):
            stream.read_tensor()
        if bottom or version == 2:
            stream.read_tensor()  # params_grad (or grad_final at the bottom)
        if bottom and version >= 3:
            stream.read_int()  # sample_expansion_factor

    read(0)
    if not stream.at_end:
        raise ModelFormatError(f"model file has {len(data) - stream.pos} unexpected trailing bytes")
    # `layers` was filled bottom-up for layers and top-down for tags; rebuild top-down order.
    return ParsedNet(loss=loss, input=input_payload, layers=_top_down(layers, expected))


def _top_down(collected: list[Layer], expected: list[str | tuple[str, int]]) -> list[Layer]:
    """Tags were appended on the way down, layers on the way back up: restore template order."""
    tags = [layer for layer in collected if layer.kind in ("tag", "skip")]
    others = [layer for layer in collected if layer.kind not in ("tag", "skip")]
    others.reverse()  # appended bottom-up
    ordered: list[Layer] = []
    tag_iter, other_iter = iter(tags), iter(others)
    for item in expected:
        kind = item if isinstance(item, str) else item[0]
        ordered.append(next(tag_iter) if kind in ("tag", "skip") else next(other_iter))
    return ordered


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ModelFormatError(f"model file does not match the expected network: {message}")


def _read_loss(stream: DlibStream) -> dict[str, Any]:
    tag = stream.read_string()
    if tag == "loss_metric_2":
        return {"type": "metric", "margin": stream.read_float(), "dist_thresh": stream.read_float()}
    if tag == "loss_mmod_":
        version = stream.read_int()
        _expect(1 <= version <= 4, f"mmod_options version {version}")
        if version == 1:
            windows = [(stream.read_int(), stream.read_int())]  # width, height
        else:
            windows = []
            for _ in range(stream.read_int()):
                window_version = stream.read_int()
                width, height = stream.read_int(), stream.read_int()
                if window_version == 2:
                    stream.read_string()
                windows.append((width, height))
        options: dict[str, Any] = {
            "type": "mmod",
            "windows": windows,
            "loss_per_false_alarm": stream.read_float(),
            "loss_per_missed_target": stream.read_float(),
            "truth_match_iou_threshold": stream.read_float(),
            "nms_iou": stream.read_float(),
            "nms_covered": stream.read_float(),
            "ignore_iou": stream.read_float(),
            "ignore_covered": stream.read_float(),
        }
        if version >= 3:
            stream.read_int()  # assume_image_pyramid
        if version >= 4:
            _expect(not stream.read_bool(), "bounding box regression is not supported")
            stream.read_float()
        return options
    raise ModelFormatError(f"unsupported loss layer {tag!r}")


def _read_input(stream: DlibStream) -> dict[str, Any]:
    tag = stream.read_string()
    mean = (stream.read_float(), stream.read_float(), stream.read_float())
    if tag == "input_rgb_image_sized":
        return {"type": "sized", "mean": mean, "rows": stream.read_int(), "cols": stream.read_int()}
    if tag == "input_rgb_image_pyramid":
        return {"type": "pyramid", "mean": mean, "padding": 10, "outer_padding": 11}
    if tag == "input_rgb_image_pyramid2":
        return {"type": "pyramid", "mean": mean, "padding": stream.read_int(), "outer_padding": stream.read_int()}
    raise ModelFormatError(f"unsupported input layer {tag!r}")


def _read_payload(stream: DlibStream, kind: str) -> dict[str, Any]:
    tag = stream.read_string()
    _expect(tag in _PAYLOAD_TAGS[kind], f"expected a {kind} layer, found {tag!r}")
    if kind == "con":
        params = stream.read_tensor().ravel()
        out: dict[str, Any] = {
            "num_filters": stream.read_int(),
            "rows": stream.read_int(),
            "cols": stream.read_int(),
            "stride": (stream.read_int(), stream.read_int()),
            "padding": (stream.read_int(), stream.read_int()),
        }
        filters, biases = stream.read_alias_tensor(), stream.read_alias_tensor()
        for _ in range(4):
            stream.read_float()
        use_bias = stream.read_bool() if tag in ("con_5", "con_6") else True
        _expect(not (tag == "con_6" and stream.read_bool()), "fused relu in con_6 is not supported")
        n_weights = math.prod(filters)
        out["weights"] = params[:n_weights].reshape(filters)
        out["bias"] = params[n_weights : n_weights + biases[1]] if use_bias else np.zeros(filters[0], np.float32)
        return out
    if kind == "affine":
        return _read_affine(stream, tag)
    if kind in ("max_pool", "avg_pool"):
        return {
            "rows": stream.read_int(),
            "cols": stream.read_int(),
            "stride": (stream.read_int(), stream.read_int()),
            "padding": (stream.read_int(), stream.read_int()),
        }
    if kind == "fc":
        num_outputs, num_inputs = stream.read_int(), stream.read_int()
        params = stream.read_tensor().ravel()
        stream.read_alias_tensor()
        stream.read_alias_tensor()
        bias_mode = stream.read_int()
        for _ in range(4):
            stream.read_float()
        use_bias = stream.read_bool() if tag == "fc_3" else True
        weights = params[: num_inputs * num_outputs].reshape(num_inputs, num_outputs)
        has_bias = bias_mode == 0 and use_bias
        bias = params[num_inputs * num_outputs :] if has_bias else np.zeros(num_outputs, np.float32)
        return {"weights": weights, "bias": bias}
    if kind == "relu" and tag == "relu_2":
        _expect(not stream.read_bool(), "disabled relu")
    return {}


def _read_affine(stream: DlibStream, tag: str) -> dict[str, Any]:
    """affine_ stores gamma/beta; bn_con2 is folded to gamma/beta as dlib does when loading it."""
    params = stream.read_tensor().ravel()
    gamma_dims, _ = stream.read_alias_tensor(), stream.read_alias_tensor()
    channels = math.prod(gamma_dims)
    gamma, beta = params[:channels], params[channels : 2 * channels]
    if tag == "bn_con2":
        stream.read_tensor()  # means (batch statistics, unused at inference)
        stream.read_tensor()  # invstds
        running_means = stream.read_tensor().ravel()
        running_variances = stream.read_tensor().ravel()
        stream.read_int()  # num_updates
        stream.read_int()  # running_stats_window_size
        for _ in range(4):
            stream.read_float()
        eps = np.float32(stream.read_float())
        # dlib computes this in float32: g = gamma / sqrt(var + eps); b = beta - g * mean.
        folded_gamma = (gamma / np.sqrt(running_variances + eps)).astype(np.float32)
        folded_beta = (beta - folded_gamma * running_means).astype(np.float32)
        return {"gamma": folded_gamma, "beta": folded_beta}
    _expect(stream.read_int() == 0, "only per-channel affine layers are supported")
    if tag == "affine_2":
        _expect(not stream.read_bool(), "disabled affine layer")
    return {"gamma": gamma.copy(), "beta": beta.copy()}
