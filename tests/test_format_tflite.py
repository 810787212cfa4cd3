"""TFLite files run by LiteRT: built from Keras with TFLiteConverter in the test, run exactly."""

import numpy as np
import pytest

from srviewer.core.formats import LoadOptions, format_for, tflite
from srviewer.errors import ModelFileError
from tf_format_models import assert_refused_writing_nothing, keras_outputs, probe_input, save_tflite, sr_model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tflite")
    made = {
        "plain": sr_model(scales=(2,)),
        "fixed": sr_model(scales=(2,), fixed=(16, 12), seed=1),
        "bgr255_nchw": sr_model(scales=(2,), layout="nchw", bgr=True, value_max=255.0, seed=3),
        "two_heads": sr_model(scales=(2, 4), seed=5),
    }
    return {name: (model, save_tflite(model, folder / f"{name}.tflite")) for name, model in made.items()}


def _flex_write_file(path, target, in_loop=False):
    """A TFLite file with a Flex (embedded TensorFlow) WriteFile the output waits on; `in_loop`:
    inside a WHILE body, a subgraph the interpreter's own operator list does not show."""
    import tensorflow as tf

    def write_then(t):
        with tf.control_dependencies([tf.io.write_file(str(target), "pwned")]):
            return tf.identity(t * 2.0)

    @tf.function(input_signature=[tf.TensorSpec([1, 4, 4, 3], tf.float32)])
    def f(x):
        if not in_loop:
            return write_then(x)
        times = tf.cast(tf.reduce_sum(x) > -1.0, tf.int32) * 2
        return tf.while_loop(lambda i, t: i < times, lambda i, t: (i + 1, write_then(t)), [tf.constant(0), x])[1]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    path.write_bytes(conv.convert())
    return path


def test_plain_tflite_runs_any_size_like_keras(files):
    model, path = files["plain"]
    assert format_for(path) is tflite.FORMAT
    raw = tflite.load(path, LoadOptions())
    assert raw.format == "tflite" and raw.inputs[0].shape == (None, None, None, 3)
    assert raw.inputs[0].dtype == "float32" and "LiteRT" in raw.device
    assert model.count_params() <= raw.params <= model.count_params() + 4   # + scalar constants (clip bounds)
    for shape in [(1, 9, 7, 3), (1, 5, 12, 3)]:            # resized to each input
        x = probe_input(shape)
        (y,) = raw.run(x)
        assert y.shape == (1, shape[1] * 2, shape[2] * 2, 3)
        np.testing.assert_allclose(y, keras_outputs(model, x)[0], atol=1e-5)


def test_fixed_size_is_declared_and_other_sizes_are_one_line(files):
    model, path = files["fixed"]
    raw = tflite.load(path, LoadOptions())
    assert raw.inputs[0].shape == (None, 16, 12, 3)      # what the conventions layer tiles at
    x = probe_input((1, 16, 12, 3))
    np.testing.assert_allclose(raw.run(x)[0], keras_outputs(model, x)[0], atol=1e-5)
    with pytest.raises(ModelFileError, match="takes only"):
        raw.run(probe_input((1, 20, 20, 3)))


def test_nchw_bgr_0_255_keeps_its_layout(files):
    model, path = files["bgr255_nchw"]
    raw = tflite.load(path, LoadOptions())
    assert raw.inputs[0].shape == (None, 3, None, None)
    x = probe_input((1, 3, 6, 9)) * 255
    np.testing.assert_allclose(raw.run(x)[0], keras_outputs(model, x)[0], atol=1e-3)


def test_two_heads_are_both_reported(files):
    model, path = files["two_heads"]
    raw = tflite.load(path, LoadOptions())
    assert len(raw.outputs) == 2
    x = probe_input((1, 5, 4, 3))
    ys = raw.run(x)
    refs = keras_outputs(model, x)
    assert sorted(y.shape for y in ys) == sorted(r.shape for r in refs)
    for y in ys:       # the converter may order outputs its own way; each equals its head
        ref = next(r for r in refs if r.shape == y.shape)
        np.testing.assert_allclose(y, ref, atol=1e-5)


@pytest.mark.parametrize("in_loop", [False, True])
def test_a_flex_write_file_is_refused_and_writes_nothing(tmp_path, in_loop):
    target = tmp_path / "pwned.txt"
    path = _flex_write_file(tmp_path / "flex.tflite", target, in_loop)
    assert_refused_writing_nothing(lambda: tflite.load(path, LoadOptions()), "FlexWriteFile (it can write files)",
                                   target)
    # trusted, LiteRT still has no TensorFlow ops to run it with: one line, nothing written
    with pytest.raises(ModelFileError, match="cannot prepare"):
        tflite.load(path, LoadOptions(trust_code=True))
    assert not target.exists()


@pytest.mark.parametrize("damage", ["truncated", "corrupt", "not_tflite"])
def test_broken_tflite_is_one_line(files, tmp_path, damage):
    data = bytearray(files["plain"][1].read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "corrupt":
        data[40:200] = bytes(range(160))
    else:
        data = bytearray(b"PK\x03\x04 a zip, not a model" * 10)
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError) as err:
        tflite.load(bad, LoadOptions())
    assert "bad.tflite" in str(err.value) and "\n" not in str(err.value)
