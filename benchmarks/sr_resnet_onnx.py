"""Write a Keras sr_resnet (srviewer.core.models.sr_resnet) as an ONNX file, NCHW like PyTorch exports.

For the formats benchmark: tf2onnx 1.17 predates TensorFlow 2.21 / Keras 3, so the graph is
written layer by layer with the `onnx` package (a test dependency): Conv2D -> Conv (HWIO ->
OIHW), PReLU -> PRelu, BatchNormalization, Add, Rescaling -> Mul, PixelShuffle ->
DepthToSpace (DCR order: TensorFlow's depth_to_space in NCHW). Other layers are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def export(model, path: Path, opset: int = 17) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    names = {id(model.inputs[0]): "lr"}
    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        node = layer._inbound_nodes[0]   # noqa: SLF001 - Keras keeps no public graph walk
        ins = [names[id(t)] for t in node.input_tensors]
        out = layer.name
        if kind == "Conv2D":
            kernel, bias = (np.asarray(w) for w in layer.get_weights())
            k = kernel.shape[0] // 2
            nodes.append(helper.make_node("Conv", [ins[0], const(out + "_w", kernel.transpose(3, 2, 0, 1)),
                                                   const(out + "_b", bias)], [out], pads=[k, k, k, k]))
        elif kind == "PReLU":
            alpha = np.asarray(layer.get_weights()[0])      # (1, 1, C): shared over H and W
            nodes.append(helper.make_node("PRelu", [ins[0], const(out + "_a", alpha.reshape(-1, 1, 1))], [out]))
        elif kind == "BatchNormalization":
            gamma, beta, mean, var = (np.asarray(w) for w in layer.get_weights())
            nodes.append(helper.make_node("BatchNormalization", [ins[0], const(out + "_g", gamma), const(out + "_be", beta),
                                                                 const(out + "_m", mean), const(out + "_v", var)],
                                          [out], epsilon=float(layer.epsilon)))
        elif kind == "Add":
            nodes.append(helper.make_node("Add", ins, [out]))
        elif kind == "Rescaling":
            nodes.append(helper.make_node("Mul", [ins[0], const(out + "_s", float(layer.scale))], [out]))
        elif kind == "PixelShuffle":
            nodes.append(helper.make_node("DepthToSpace", ins, [out], blocksize=int(layer.scale), mode="DCR"))
        else:
            raise ValueError(f"no ONNX writer for {kind} ({layer.name})")
        names[id(node.output_tensors[0])] = out
    last = names[id(model.outputs[0])]
    nodes.append(helper.make_node("Identity", [last], ["hr"]))
    graph = helper.make_graph(nodes, model.name,
                              [helper.make_tensor_value_info("lr", TensorProto.FLOAT, [1, 3, None, None])],
                              [helper.make_tensor_value_info("hr", TensorProto.FLOAT, [1, 3, None, None])], inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, str(path))
    return path
