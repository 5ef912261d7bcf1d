"""Build ONNX graphs from dlib's network files.

The layer sequences below transcribe the C++ template types that define the two networks
(dlib `tools/python/src/face_recognition.cpp` and `cnn_face_detector.cpp`), top of the network
first. `dlib_format.parse_net` checks the file against them; `_GraphBuilder` evaluates them
bottom-up as a small stack machine: `tag` remembers the current tensor, `skip` recalls one,
`add_prev` adds one with dlib's zero-padding semantics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from faceindex.models.dlib_format import Layer, ParsedNet, parse_net

Spec = list[str | tuple[str, int]]
OPSET = 17


# --- the template types ---------------------------------------------------------------------


# Filter counts, kernel sizes and strides are read from the file; the sequences fix the wiring.
# block = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>
_BLOCK: Spec = ["affine", "con", "relu", "affine", "con"]
# ares = relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>
_ARES: Spec = ["relu", ("add_prev", 1), *_BLOCK, ("tag", 1)]
# ares_down = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>
_ARES_DOWN: Spec = ["relu", ("add_prev", 2), "avg_pool", ("skip", 1), ("tag", 2), *_BLOCK, ("tag", 1)]


# loss_metric<fc_no_bias<128,avg_pool_everything<alevel0<…alevel4<max_pool<relu<affine<con<32,7,7,2,2,
#   input_rgb_image_sized<150>>>>>>>>>>>>
RESNET_SPEC: Spec = [
    "fc",
    "avg_pool",
    *_ARES_DOWN,  # alevel0: 256
    *_ARES,  # alevel1: 256, 256, down to 256
    *_ARES,
    *_ARES_DOWN,
    *_ARES,  # alevel2: 128, 128, down to 128
    *_ARES,
    *_ARES_DOWN,
    *_ARES,  # alevel3: 64 x3, down to 64
    *_ARES,
    *_ARES,
    *_ARES_DOWN,
    *_ARES,  # alevel4: 32 x3
    *_ARES,
    *_ARES,
    "max_pool",
    "relu",
    "affine",
    "con",
]

MMOD_SPEC: Spec = [
    "con",  # con<1,9,9,1,1>
    *(["relu", "affine", "con"] * 3),  # rcon5<45> three times
    *(["relu", "affine", "con"] * 3),  # the downsampler: con5d<32>, con5d<32>, con5d<16>
]


# --- graph building -------------------------------------------------------------------------


class _GraphBuilder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def const(self, array: np.ndarray[Any, Any], prefix: str) -> str:
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def _fold_affine(con: dict[str, Any], affine: dict[str, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """conv followed by a per-channel affine = one conv; folded in float64, rounded once."""
    gamma = affine["gamma"].astype(np.float64)
    beta = affine["beta"].astype(np.float64)
    weights = con["weights"].astype(np.float64) * gamma[:, None, None, None]
    bias = con["bias"].astype(np.float64) * gamma + beta
    return weights.astype(np.float32), bias.astype(np.float32)


def _build(net: ParsedNet, builder: _GraphBuilder, x: str, static_shape: tuple[int, int, int] | None) -> str:
    """Emit the layers bottom-up. `static_shape` (C, H, W) enables dlib's zero-padded adds."""
    tags: dict[int, tuple[str, tuple[int, int, int] | None]] = {}
    shape = static_shape
    layers = list(reversed(net.layers))
    i = 0
    while i < len(layers):
        layer = layers[i]
        if layer.kind == "con":
            weights, bias = layer.params["weights"], layer.params["bias"]
            if i + 1 < len(layers) and layers[i + 1].kind == "affine":
                weights, bias = _fold_affine(layer.params, layers[i + 1].params)
                i += 1
            x, shape = _conv(builder, x, shape, layer, weights, bias)
        elif layer.kind == "affine":  # an affine not after a conv does not occur in these nets
            raise NotImplementedError("standalone affine layer")
        elif layer.kind == "relu":
            x = builder.node("Relu", [x])
        elif layer.kind in ("max_pool", "avg_pool"):
            x, shape = _pool(builder, x, shape, layer)
        elif layer.kind == "tag":
            tags[layer.ref] = (x, shape)
        elif layer.kind == "skip":
            x, shape = tags[layer.ref]
        elif layer.kind == "add_prev":
            x, shape = _add_zero_padded(builder, (x, shape), tags[layer.ref])
        elif layer.kind == "fc":
            flat = builder.node("Flatten", [x], axis=1)
            x = builder.node("MatMul", [flat, builder.const(layer.params["weights"], "fc_w")])
            if np.any(layer.params["bias"]):
                x = builder.node("Add", [x, builder.const(layer.params["bias"], "fc_b")])
        i += 1
    return x


def _conv(
    builder: _GraphBuilder,
    x: str,
    shape: tuple[int, int, int] | None,
    layer: Layer,
    weights: np.ndarray[Any, Any],
    bias: np.ndarray[Any, Any],
) -> tuple[str, tuple[int, int, int] | None]:
    (sy, sx), (py, px) = layer.params["stride"], layer.params["padding"]
    kh, kw = weights.shape[2:]
    out = builder.node(
        "Conv",
        [x, builder.const(weights, "conv_w"), builder.const(bias, "conv_b")],
        kernel_shape=[kh, kw],
        strides=[sy, sx],
        pads=[py, px, py, px],
    )
    if shape is None:
        return out, None
    _, h, w = shape
    return out, (weights.shape[0], 1 + (h + 2 * py - kh) // sy, 1 + (w + 2 * px - kw) // sx)


def _pool(
    builder: _GraphBuilder, x: str, shape: tuple[int, int, int] | None, layer: Layer
) -> tuple[str, tuple[int, int, int] | None]:
    rows, cols = layer.params["rows"], layer.params["cols"]
    if rows == 0 and cols == 0:  # dlib's "pool everything"
        assert layer.kind == "avg_pool"
        return builder.node("GlobalAveragePool", [x]), None if shape is None else (shape[0], 1, 1)
    (sy, sx), (py, px) = layer.params["stride"], layer.params["padding"]
    op = "MaxPool" if layer.kind == "max_pool" else "AveragePool"
    attrs: dict[str, Any] = {"kernel_shape": [rows, cols], "strides": [sy, sx], "pads": [py, px, py, px]}
    if op == "AveragePool":
        attrs["count_include_pad"] = 0  # dlib averages in-bounds pixels only
    out = builder.node(op, [x], **attrs)
    if shape is None:
        return out, None
    c, h, w = shape
    return out, (c, 1 + (h + 2 * py - rows) // sy, 1 + (w + 2 * px - cols) // sx)


def _add_zero_padded(
    builder: _GraphBuilder,
    a: tuple[str, tuple[int, int, int] | None],
    b: tuple[str, tuple[int, int, int] | None],
) -> tuple[str, tuple[int, int, int] | None]:
    """dlib's add_prev: the output has the larger size of each dim, missing values count as 0."""
    (xa, sa), (xb, sb) = a, b
    if sa is None or sb is None:
        return builder.node("Add", [xa, xb]), None
    target = (max(sa[0], sb[0]), max(sa[1], sb[1]), max(sa[2], sb[2]))

    def padded(x: str, s: tuple[int, int, int]) -> str:
        if s == target:
            return x
        pads = np.array([0, 0, 0, 0, 0, target[0] - s[0], target[1] - s[1], target[2] - s[2]], np.int64)
        return builder.node("Pad", [x, builder.const(pads, "pads")], mode="constant")

    return builder.node("Add", [padded(xa, sa), padded(xb, sb)]), target


# --- public entry points ----------------------------------------------------------------------


def resnet_to_onnx(data: bytes) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """The 128-D face descriptor net. Input: float32 [N, 150, 150, 3] RGB pixel values 0-255."""
    net = parse_net(data, RESNET_SPEC)
    builder = _GraphBuilder()
    rows, cols = net.input["rows"], net.input["cols"]
    mean = np.array(net.input["mean"], np.float32).reshape(1, 3, 1, 1)
    nchw = builder.node("Transpose", ["image"], perm=[0, 3, 1, 2])
    centred = builder.node("Sub", [nchw, builder.const(mean, "mean")])
    scaled = builder.node("Div", [centred, builder.const(np.array(256.0, np.float32), "scale")])
    out = _build(net, builder, scaled, (3, rows, cols))
    graph = helper.make_graph(
        builder.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", rows, cols, 3])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 128])],
        builder.initializers,
    )
    meta = {"input_size": rows, "dist_thresh": net.loss["dist_thresh"]}
    return _model(graph), meta


def mmod_to_onnx(data: bytes) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """The MMOD CNN detector. Input: a normalised tiled pyramid, float32 [N, 3, H, W]."""
    net = parse_net(data, MMOD_SPEC)
    builder = _GraphBuilder()
    out = _build(net, builder, "pyramid", None)
    graph = helper.make_graph(
        builder.nodes,
        "mmod_human_face_detector",
        [helper.make_tensor_value_info("pyramid", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 1, "h", "w"])],
        builder.initializers,
    )
    convs = [layer.params for layer in reversed(net.layers) if layer.kind == "con"]
    meta = {
        "mean": list(net.input["mean"]),
        "padding": net.input["padding"],
        "outer_padding": net.input["outer_padding"],
        "window": list(net.loss["windows"][0]),
        "nms_iou": net.loss["nms_iou"],
        "nms_covered": net.loss["nms_covered"],
        # (kernel, stride, padding) bottom-up, for mapping output cells back to input points
        "convs": [[int(c["weights"].shape[2]), int(c["stride"][0]), int(c["padding"][0])] for c in convs],
    }
    return _model(graph), meta


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="faceindex")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
