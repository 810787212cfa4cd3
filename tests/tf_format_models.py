"""Tiny Keras super-resolution models and their exports in TensorFlow's formats, for the tests.

`sr_model(...)` builds an upscaler in a given convention: layout (NHWC/NCHW), channel order
(RGB/BGR), value range (0..1 / 0..255), fixed input size, one or more heads (scales). Each head is
a nearest-neighbour upscale plus a small learned residual (seeded weights), clipped to the
value range like a real model's output, so its output resembles a bicubic upscale of the input
in that convention (and not in another range). The exporters write it as a frozen GraphDef, a
SavedModel (tf.saved_model.save or model.export), a TensorFlow 1 SavedModel (SavedModelBuilder,
the same computation written with tf.compat.v1 ops and the Keras weights) or a TFLite file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def sr_model(scales=(2,), layout="nhwc", bgr=False, value_max=1.0, fixed=None, seed=0):
    import keras

    h, w = fixed or (None, None)
    shape = (3, h, w) if layout == "nchw" else (h, w, 3)
    inp = keras.Input(shape=shape, name="lr")
    x = keras.layers.Permute((2, 3, 1))(inp) if layout == "nchw" else inp
    if bgr:
        x = keras.ops.flip(x, axis=-1)
    x = x * (1.0 / value_max)
    outs = []
    for i, s in enumerate(scales):
        init = keras.initializers.RandomNormal(stddev=0.02, seed=seed + i)
        r = keras.layers.Conv2D(3 * s * s, 3, padding="same", kernel_initializer=init,
                                bias_initializer=init, name=f"residual_x{s}")(x)
        nearest = keras.ops.depth_to_space(keras.ops.concatenate([x] * (s * s), axis=-1), s)
        y = keras.ops.clip(nearest + keras.ops.depth_to_space(r, s), 0.0, 1.0) * value_max
        if bgr:
            y = keras.ops.flip(y, axis=-1)
        outs.append(keras.layers.Permute((3, 1, 2))(y) if layout == "nchw" else y)
    return keras.Model(inp, outs if len(outs) > 1 else outs[0])


def classifier():
    import keras

    inp = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(5, activation="softmax")(x))


def keras_outputs(model, x: np.ndarray) -> list[np.ndarray]:
    y = model(x, training=False)
    return [np.asarray(v) for v in (y if isinstance(y, (list, tuple)) else [y])]


def _spec(model):
    import tensorflow as tf

    return tf.TensorSpec([None, *model.input.shape[1:]], tf.float32, name="lr")


def save_frozen_graph(model, path: Path) -> Path:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(_spec(model))
    frozen = convert_variables_to_constants_v2(fn)
    path.write_bytes(frozen.graph.as_graph_def().SerializeToString())
    return path


def save_saved_model(model, folder: Path, extra=None) -> Path:
    """tf.saved_model.save with a serving_default signature; `extra(x)` runs first inside it."""
    import tensorflow as tf

    @tf.function(input_signature=[_spec(model)])
    def serve(x):
        if extra is not None:
            extra(x)
        y = model(x, training=False)
        ys = y if isinstance(y, (list, tuple)) else [y]
        return {f"output_{i}": v for i, v in enumerate(ys)}

    module = tf.Module()
    module.model, module.serve = model, serve
    tf.saved_model.save(module, str(folder), signatures={"serving_default": serve})
    return folder


def export_saved_model(model, folder: Path) -> Path:
    model.export(str(folder), verbose=False)
    return folder


def save_tf1_saved_model(model, folder: Path, scale: int = 2, input_shaped_state: bool = False) -> Path:
    """The NHWC RGB [0,1] one-head `sr_model` written again with TensorFlow 1 ops (a VariableV2,
    a Session, SavedModelBuilder), with the Keras model's weights.

    `input_shaped_state`: also a local variable initialised as zeros shaped like the input (a
    recurrent model's state buffer). TensorFlow 1's loader leaves it alone; `tf.saved_model.load`
    runs every local initializer and fails (UnliftableError: it depends on the placeholder).
    """
    import tensorflow as tf

    kernel, bias = (np.asarray(w) for w in model.get_layer(f"residual_x{scale}").weights)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="lr")
        k = tf.compat.v1.get_variable("k", initializer=kernel, use_resource=False)
        b = tf.compat.v1.get_variable("b", initializer=bias, use_resource=False)
        r = tf.nn.bias_add(tf.nn.conv2d(x, k, 1, "SAME"), b)
        if input_shaped_state:
            tf.compat.v1.Variable(tf.zeros_like(x), collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES],
                                  validate_shape=False, name="state", use_resource=False)
        up = tf.nn.depth_to_space(tf.concat([x] * (scale * scale), axis=-1), scale)
        y = tf.clip_by_value(up + tf.nn.depth_to_space(r, scale), 0.0, 1.0, name="sr")
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(str(folder))
            sig = tf.compat.v1.saved_model.predict_signature_def({"lr": x}, {"sr": y})
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": sig})
            builder.save()
    return folder


def save_tflite(model, path: Path) -> Path:
    import tensorflow as tf

    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def probe_input(shape, seed=0) -> np.ndarray:
    """A smooth random input of `shape` in [0, 1] (float32)."""
    rng = np.random.default_rng(seed)
    return rng.random(shape, dtype=np.float32)


def assert_refused_writing_nothing(load, op: str, target: Path) -> None:
    """`load()` raises one ModelFileError line naming `op` and --trust-model-code; `target` is not written."""
    import pytest

    from srviewer.errors import ModelFileError

    with pytest.raises(ModelFileError) as err:
        load()
    msg = str(err.value)
    assert op in msg and "--trust-model-code" in msg and "\n" not in msg
    assert not target.exists()
