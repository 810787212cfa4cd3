"""Loading model files: sidecar weights, .keras in safe mode, tf.keras 2 .h5 with Lambda pixel shuffles."""

import base64
import json
import marshal

import numpy as np
import pytest

import keras
import h5py

from srviewer.core import models, tf_runtime  # noqa: E402
from srviewer.core.atomic import atomic_write_json  # noqa: E402
from srviewer.core.model_files import load_model_file  # noqa: E402
from srviewer.errors import ModelFileError  # noqa: E402

# as the old notebooks wrote them: `tf` is a global of the defining module (not defined here)
OLD_SHUFFLE = lambda t: tf.nn.depth_to_space(t, 2)  # noqa: E731, F821
OLD_RELU = lambda t: tf.nn.relu(t)  # noqa: E731, F821

TINY = {"num_filters": 4, "num_res_blocks": 1, "batch_norm": False, "scale": 4}


def _save_sidecar_model(dirpath, name="m", factory="sr_resnet", kwargs=TINY, **extra):
    model = models.build({"factory": factory, "kwargs": kwargs})
    path = dirpath / f"{name}.weights.h5"
    model.save_weights(str(path))
    atomic_write_json(dirpath / f"{name}.json", {"factory": factory, "kwargs": kwargs, "scale": 4,
                                                 "input": "lr", "label": "Tiny", "format": 1, **extra})
    return model, path


def test_weights_and_sidecar_round_trip(tmp_path, rng):
    model, path = _save_sidecar_model(tmp_path)
    loaded = load_model_file(path)
    assert (loaded.scale, loaded.input_kind, loaded.label) == (4, "lr", "Tiny")
    x = rng.random((1, 6, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(loaded.model(x)), np.asarray(model(x)), atol=1e-6)


def test_sidecar_failures_are_model_file_errors(tmp_path):
    _, path = _save_sidecar_model(tmp_path)
    sidecar = tmp_path / "m.json"
    spec = json.loads(sidecar.read_text())

    atomic_write_json(sidecar, {**spec, "scale": 2})
    with pytest.raises(ModelFileError, match="upscales x4, but x2 was stated"):
        load_model_file(path)

    atomic_write_json(sidecar, {**spec, "kwargs": {**TINY, "num_filters": 8}})     # weights of another model
    with pytest.raises(ModelFileError, match="do not fit"):
        load_model_file(path)

    atomic_write_json(sidecar, {**spec, "input": "bicubic"})
    with pytest.raises(ModelFileError, match="stated input 'bicubic'"):
        load_model_file(path)

    atomic_write_json(sidecar, spec)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])                                      # truncated
    with pytest.raises(ModelFileError, match="truncated"):
        load_model_file(path)

    sidecar.unlink()
    with pytest.raises(ModelFileError, match="no m.json beside it"):
        load_model_file(path)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model_file(tmp_path / "absent.keras")


def test_keras_file_probed_for_scale_and_input_kind(tmp_path):
    lr_model = models.sr_resnet(num_filters=4, num_res_blocks=1, scale=2, batch_norm=False)
    lr_model.save(tmp_path / "x2.keras")
    loaded = load_model_file(tmp_path / "x2.keras")
    assert (loaded.scale, loaded.input_kind) == (2, "lr")
    models.srcnn(n1=4, n2=4).save(tmp_path / "srcnn.keras")
    assert load_model_file(tmp_path / "srcnn.keras").input_kind == "bicubic"


def test_a_truncated_keras_file_is_called_truncated_not_missing(tmp_path):
    models.srcnn(n1=4, n2=4).save(tmp_path / "whole.keras")
    data = (tmp_path / "whole.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match="cut.keras: not a readable .keras file .*truncated, corrupt") as caught:
        load_model_file(tmp_path / "cut.keras")
    assert "not found" not in str(caught.value)


def test_keras_file_with_lambda_is_refused_in_safe_mode(tmp_path):
    inp = keras.Input((None, None, 3))
    out = keras.layers.Lambda(lambda t: t * 1.0)(keras.layers.UpSampling2D(2)(inp))
    keras.Model(inp, out).save(tmp_path / "lam.keras")
    with pytest.raises(ModelFileError, match="--trust-model-code"):
        load_model_file(tmp_path / "lam.keras")
    assert load_model_file(tmp_path / "lam.keras", trust_code=True).scale == 2


# --- a tf.keras 2 style full-model .h5, written by hand -------------------------------------------

def _conv(name, filters):
    return {"class_name": "Conv2D", "config": {
        "name": name, "trainable": True, "dtype": "float32", "filters": filters, "kernel_size": [3, 3],
        "strides": [1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
        "groups": 1, "activation": "linear", "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}


def _lambda(name, fn):
    code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")   # what tf.keras 2 stored
    return {"class_name": "Lambda", "config": {
        "name": name, "trainable": True, "dtype": "float32", "function": [code, None, None],
        "function_type": "lambda", "module": "__main__", "output_shape": None, "output_shape_type": "raw",
        "output_shape_module": None, "arguments": {}}}


def write_tf2_h5(path, weights, fn, first_filters=12):
    """input -> conv2d(12) -> Lambda(fn) -> conv2d_1(3), in tf.keras 2.12's full-model .h5 layout."""
    chain = [("conv2d", _conv("conv2d", first_filters)), ("lambda", _lambda("lambda", fn)), ("conv2d_1", _conv("conv2d_1", 3))]
    layers = [{"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [], "config": {
        "batch_input_shape": [None, None, None, 3], "dtype": "float32", "sparse": False, "ragged": False,
        "name": "input_1"}}]
    prev = "input_1"
    for name, cfg in chain:
        layers.append({**cfg, "name": name, "inbound_nodes": [[[prev, 0, 0, {}]]]})
        prev = name
    config = {"class_name": "Functional", "keras_version": "2.12.0", "backend": "tensorflow",
              "config": {"name": "model", "layers": layers, "input_layers": [["input_1", 0, 0]],
                         "output_layers": [["conv2d_1", 0, 0]]}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"], f.attrs["backend"] = "2.12.0", "tensorflow"
        g = f.create_group("model_weights")
        names = ["input_1", "conv2d", "lambda", "conv2d_1"]
        g.attrs["layer_names"] = [n.encode() for n in names]
        g.attrs["keras_version"], g.attrs["backend"] = "2.12.0", "tensorflow"
        for n in names:
            wnames = [f"{n}/kernel:0", f"{n}/bias:0"] if n in weights else []
            lg = g.create_group(n)
            lg.attrs["weight_names"] = [w.encode() for w in wnames]
            for wname, arr in zip(wnames, weights.get(n, [])):
                lg.create_dataset(wname, data=arr)


def _weights(rng, mid_channels, first_filters=12):
    return {"conv2d": [rng.normal(0, 0.2, (3, 3, 3, first_filters)).astype(np.float32),
                       rng.normal(0, 0.1, first_filters).astype(np.float32)],
            "conv2d_1": [rng.normal(0, 0.2, (3, 3, mid_channels, 3)).astype(np.float32), np.full(3, 0.5, np.float32)]}


def test_tf2_h5_with_lambda_depth_to_space_is_rebuilt_without_running_code(tmp_path, rng, monkeypatch):
    tf = tf_runtime.tf()
    w = _weights(rng, 3)
    path = tmp_path / "old_generator.h5"
    write_tf2_h5(path, w, OLD_SHUFFLE)
    # running the stored bytecode would fail (no `tf` in its globals): make sure nothing unmarshals it
    monkeypatch.setattr(marshal, "loads", lambda *a: pytest.fail("stored bytecode was unmarshalled"))
    loaded = load_model_file(path)
    assert (loaded.scale, loaded.input_kind) == (2, "lr")
    assert any(type(lay).__name__ == "PixelShuffle" for lay in loaded.model.layers)
    x = rng.random((1, 5, 6, 3)).astype(np.float32)
    ref = tf.nn.conv2d(tf.nn.depth_to_space(tf.nn.conv2d(x, w["conv2d"][0], 1, "SAME") + w["conv2d"][1], 2),
                       w["conv2d_1"][0], 1, "SAME") + 0.5
    np.testing.assert_allclose(np.asarray(loaded.model(x)), ref.numpy(), atol=1e-5)


def test_tf2_h5_with_other_lambda_refused_then_loaded_with_the_opt_in(tmp_path, rng):
    tf = tf_runtime.tf()
    w = _weights(rng, 12)
    path = tmp_path / "odd.h5"
    write_tf2_h5(path, w, OLD_RELU)
    with pytest.raises(ModelFileError, match="--trust-model-code"):
        load_model_file(path)
    loaded = load_model_file(path, trust_code=True)       # loaded in a child process first, then here
    assert loaded.input_kind == "bicubic"
    x = rng.random((1, 5, 6, 3)).astype(np.float32)
    ref = tf.nn.conv2d(tf.nn.relu(tf.nn.conv2d(x, w["conv2d"][0], 1, "SAME") + w["conv2d"][1]),
                       w["conv2d_1"][0], 1, "SAME") + 0.5
    np.testing.assert_allclose(np.asarray(loaded.model(x)), ref.numpy(), atol=1e-5)


def test_h5_with_wrong_weights_or_no_architecture(tmp_path, rng):
    tf = tf_runtime.tf()
    path = tmp_path / "bad.h5"
    write_tf2_h5(path, _weights(rng, 12), OLD_SHUFFLE)   # conv2d_1 wants 12 channels, gets 3
    with pytest.raises(ModelFileError, match="do not match"):
        load_model_file(path)
    with h5py.File(path, "r+") as f:
        del f.attrs["model_config"]
    with pytest.raises(ModelFileError, match="weights only"):
        load_model_file(path)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(ModelFileError, match="not a readable HDF5"):
        load_model_file(tmp_path / "junk.h5")


# --- full-model .h5 written by Keras 3, and one rewritten to look like a tf.keras 2 file ----------

def _tiny_generator():
    return models.sr_resnet(num_filters=4, num_res_blocks=1, batch_norm=False)


def test_keras3_full_model_h5_loads(tmp_path, rng):
    model = _tiny_generator()
    model.save(tmp_path / "m.h5")
    loaded = load_model_file(tmp_path / "m.h5")
    assert (loaded.scale, loaded.input_kind) == (4, "lr")
    x = rng.random((1, 7, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(loaded.model(x)), np.asarray(model(x)), atol=1e-6)


# what tf.keras 2 stored for the notebooks' pixel shuffle; and bytes that merely name depth_to_space
SHUFFLE_CODE = base64.b64encode(marshal.dumps(OLD_SHUFFLE.__code__)).decode("ascii")
JUNK_CODE = base64.b64encode(b"\xe3\xff\xfe\x00JUNK\x00depth_to_space\x00\xde\xad\xbe\xef" * 3).decode("ascii")


def _as_lambda(layer_cfg, style, code=SHUFFLE_CODE):
    fn = [code, None, None] if style == "tf2" else {
        "class_name": "__lambda__", "config": {"code": code, "defaults": None, "closure": None}}
    cfg = layer_cfg["config"]
    new_cfg = {"name": cfg["name"], "trainable": True, "dtype": cfg["dtype"], "function": fn,
               "function_type": "lambda", "module": "__main__", "output_shape": None,
               "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}
    return {"class_name": "Lambda", "config": new_cfg, "name": layer_cfg["name"],
            "inbound_nodes": layer_cfg["inbound_nodes"]}


def _generator_with_lambda_shuffles(path, style, code=SHUFFLE_CODE):
    model = _tiny_generator()
    model.save(path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layer_list = config["config"]["layers"]
        shuffles = [i for i, lay in enumerate(layer_list) if "PixelShuffle" in lay["class_name"]]
        assert len(shuffles) == 2
        for i in shuffles:
            layer_list[i] = _as_lambda(layer_list[i], style, code)
        f.attrs["model_config"] = json.dumps(config)
    return model


@pytest.mark.parametrize("style", ["tf2", "keras3"])
def test_h5_whose_pixel_shuffles_are_lambdas_loads_without_running_them(tmp_path, rng, monkeypatch, style):
    path = tmp_path / "old.h5"
    model = _generator_with_lambda_shuffles(path, style)
    monkeypatch.setattr(marshal, "loads", lambda *a: pytest.fail("stored bytecode was unmarshalled"))
    loaded = load_model_file(path)                      # no trust_code: nothing from the file runs
    assert (loaded.scale, loaded.input_kind) == (4, "lr")
    assert sum(type(lay).__name__ == "PixelShuffle" for lay in loaded.model.layers) == 2
    assert not any(type(lay).__name__ == "Lambda" for lay in loaded.model.layers)
    x = rng.random((1, 6, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(loaded.model(x)), np.asarray(model(x)), atol=1e-6)


def test_h5_whose_lambdas_merely_name_depth_to_space_is_refused(tmp_path):
    path = tmp_path / "junk.h5"
    _generator_with_lambda_shuffles(path, "tf2", JUNK_CODE)
    with pytest.raises(ModelFileError, match="--trust-model-code") as err:
        load_model_file(path)
    assert "\n" not in str(err.value) and "junk.h5" in str(err.value)


OLD_COMPOSITE = lambda t: tf.nn.relu(tf.nn.depth_to_space(t, 2)) - 0.3  # noqa: E731, F821


def test_tf2_h5_whose_lambda_does_more_than_depth_to_space_is_refused_then_run_exactly(tmp_path, rng, monkeypatch):
    """`relu(depth_to_space(t, 2)) - 0.3` named depth_to_space and used to load as a plain shuffle."""
    tf = tf_runtime.tf()
    w = _weights(rng, 3)
    path = tmp_path / "composite.h5"
    write_tf2_h5(path, w, OLD_COMPOSITE)
    with monkeypatch.context() as m:
        m.setattr(marshal, "loads", lambda *a: pytest.fail("stored bytecode was unmarshalled"))
        with pytest.raises(ModelFileError) as err:
            load_model_file(path)
    message = str(err.value)
    assert "\n" not in message and "composite.h5" in message and "lambda" in message
    assert "--trust-model-code" in message
    loaded = load_model_file(path, trust_code=True)       # the user's opt-in: the file's own code runs
    x = rng.random((1, 5, 6, 3)).astype(np.float32)
    inner = tf.nn.conv2d(x, w["conv2d"][0], 1, "SAME") + w["conv2d"][1]
    ref = tf.nn.conv2d(tf.nn.relu(tf.nn.depth_to_space(inner, 2)) - 0.3, w["conv2d_1"][0], 1, "SAME") + 0.5
    np.testing.assert_allclose(np.asarray(loaded.model(x)), ref.numpy(), atol=1e-5)


def test_trusted_file_whose_code_cannot_load_is_a_model_file_error(tmp_path, rng):
    """Bytecode that is not a pixel shuffle and not loadable: the child process fails, we do not."""
    w = _weights(rng, 12)
    path = tmp_path / "broken_code.h5"
    write_tf2_h5(path, w, OLD_RELU)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        (lam,) = [lay for lay in config["config"]["layers"] if lay["class_name"] == "Lambda"]
        lam["config"]["function"] = [base64.b64encode(b"\xe3\xff not marshal data").decode("ascii"), None, None]
        f.attrs["model_config"] = json.dumps(config)
    with pytest.raises(ModelFileError, match="--trust-model-code"):
        load_model_file(path)
    with pytest.raises(ModelFileError, match="broken_code.h5: loading its embedded code failed"):
        load_model_file(path, trust_code=True)


OLD_SHUFFLE_X4 = lambda t: tf.nn.depth_to_space(t, 4)  # noqa: E731, F821


def test_tf2_h5_with_a_x4_depth_to_space_lambda_finds_its_block_size(tmp_path, rng):
    """The block size is a constant inside the (unread) bytecode: the one whose weights fit wins."""
    tf = tf_runtime.tf()
    w = _weights(rng, 3, first_filters=48)
    path = tmp_path / "espcn_like.h5"
    write_tf2_h5(path, w, OLD_SHUFFLE_X4, first_filters=48)
    loaded = load_model_file(path)
    assert (loaded.scale, loaded.input_kind) == (4, "lr")
    x = rng.random((1, 5, 6, 3)).astype(np.float32)
    ref = tf.nn.conv2d(tf.nn.depth_to_space(tf.nn.conv2d(x, w["conv2d"][0], 1, "SAME") + w["conv2d"][1], 4),
                       w["conv2d_1"][0], 1, "SAME") + 0.5
    np.testing.assert_allclose(np.asarray(loaded.model(x)), ref.numpy(), atol=1e-5)
