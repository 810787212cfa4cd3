"""Small real ONNX super-resolution models, built with the `onnx` package (a test dependency).

Each model is a depthwise 3x3 smoothing convolution (a receptive field for the tiling tests)
followed by a bicubic Resize (a = -0.5, half-pixel centres: MATLAB's kernel), wrapped in the
convention under test. So that a wrong convention gives a visibly wrong picture, each model
carries what its convention implies:
- range "0..1" clips its input to [0, 1]; "0..255" floors it at 2 (a 0..1 image becomes flat);
- "bgr" adds relu(channel 0 - channel 2): nothing for a natural photo fed as BGR (blue is under
  red almost everywhere in the probe), a strong cast when fed RGB;
- layout, channels (1: luma), fixed size, heads (one Resize per scale) and surplus output pixels
  (an edge Pad) come from the graph's shapes, as in real exports.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _const(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(value, dtype), name)


def build(path, *, layout="nchw", channels=3, value_range="0..1", bgr=False, fixed=None, scales=(4,),
          pad=0, pad_where="centre", dtype="float32", opset=17, convs=1, centre=0.8):
    """Write an ONNX SR model to `path` and return the path. `fixed`: (h, w) input size or None;
    `convs`: how many 3x3 smoothing convolutions (the receptive radius in LR pixels, before the
    Resize), each with weight `centre` in the middle and the rest shared by the 8 neighbours."""
    h, w = fixed if fixed else (None, None)
    c = channels
    in_shape = [1, c, h, w] if layout == "nchw" else [1, h, w, c]
    elem = TensorProto.UINT8 if dtype == "uint8" else TensorProto.FLOAT
    nodes, inits = [], []
    x = "image"
    if layout == "nhwc":
        nodes.append(helper.make_node("Transpose", [x], ["x_nchw"], perm=[0, 3, 1, 2]))
        x = "x_nchw"
    if dtype == "uint8":
        nodes.append(helper.make_node("Cast", [x], ["x_float"], to=TensorProto.FLOAT))
        x = "x_float"
    if value_range == "0..255":
        inits.append(_const("floor", 2.0))
        nodes.append(helper.make_node("Max", [x, "floor"], ["x_ranged"]))
    else:
        lo, hi = (0.0, 1.0) if value_range == "0..1" else (-1.0, 1.0)
        inits += [_const("lo", lo), _const("hi", hi)]
        nodes.append(helper.make_node("Clip", [x, "lo", "hi"], ["x_ranged"]))
    x = "x_ranged"
    if bgr:
        inits += [_const("s0", [0], np.int64), _const("e0", [1], np.int64), _const("s2", [2], np.int64),
                  _const("e2", [3], np.int64), _const("ax", [1], np.int64)]
        nodes += [helper.make_node("Slice", [x, "s0", "e0", "ax"], ["c0"]),
                  helper.make_node("Slice", [x, "s2", "e2", "ax"], ["c2"]),
                  helper.make_node("Sub", ["c0", "c2"], ["c02"]),
                  helper.make_node("Relu", ["c02"], ["cast"]),
                  helper.make_node("Add", [x, "cast"], ["x_cast"])]
        x = "x_cast"
    kernel = np.full((3, 3), (1.0 - centre) / 8, np.float32)
    kernel[1, 1] = centre
    inits.append(_const("smooth", np.tile(kernel, (c, 1, 1, 1))))
    for i in range(convs):
        nodes.append(helper.make_node("Conv", [x, "smooth"], [f"x_smooth{i}"], group=c, pads=[1, 1, 1, 1]))
        x = f"x_smooth{i}"
    nodes.append(helper.make_node("Identity", [x], ["x_smooth"]))
    outputs = []
    for s in scales:
        inits.append(_const(f"scales{s}", [1, 1, s, s]))
        y = f"up{s}"
        nodes.append(helper.make_node("Resize", ["x_smooth", "", f"scales{s}"], [y], mode="cubic",
                                      cubic_coeff_a=-0.5, coordinate_transformation_mode="half_pixel"))
        if pad:
            before, after = (pad // 2, pad - pad // 2) if pad_where == "centre" else (0, pad)
            inits.append(_const(f"pads{s}", [0, 0, before, before, 0, 0, after, after], np.int64))
            nodes.append(helper.make_node("Pad", [y, f"pads{s}"], [f"{y}_padded"], mode="edge"))
            y = f"{y}_padded"
        if dtype == "uint8":
            inits += [_const("zero", 0.0), _const("top", 255.0)]
            nodes += [helper.make_node("Clip", [y, "zero", "top"], [f"{y}_c"]),
                      helper.make_node("Cast", [f"{y}_c"], [f"{y}_u8"], to=TensorProto.UINT8)]
            y = f"{y}_u8"
        if layout == "nhwc":
            nodes.append(helper.make_node("Transpose", [y], [f"{y}_nhwc"], perm=[0, 2, 3, 1]))
            y = f"{y}_nhwc"
        nodes.append(helper.make_node("Identity", [y], [f"x{s}"]))
        outputs.append(helper.make_tensor_value_info(f"x{s}", elem, [1, None, None, None]))
    graph = helper.make_graph(nodes, "sr", [helper.make_tensor_value_info("image", elem, in_shape)], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def build_other(path, kind):
    """Not super-resolution models: "classifier" (1x3 scores), "scalar" (one value), "custom_op"."""
    nodes, inits = [], []
    if kind == "classifier":
        nodes += [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
                  helper.make_node("Flatten", ["pooled"], ["scores"])]
    elif kind == "scalar":
        nodes.append(helper.make_node("ReduceMean", ["image"], ["scores"], keepdims=0))
    elif kind == "custom_op":
        nodes.append(helper.make_node("MagicUpscale", ["image"], ["scores"], domain="com.example"))
    graph = helper.make_graph(nodes, kind, [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, None, None])],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [])], inits)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.example", 1)] if kind == "custom_op" else [])
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))
    return path
