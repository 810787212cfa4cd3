"""Layers, model factories and the TensorFlow runtime helpers (tiny models, tiny images)."""

import numpy as np
import pytest

import keras

from srviewer.core import layers, models, tf_runtime  # noqa: E402
from srviewer.core.conventions import upscale_bicubic  # noqa: E402
from srviewer.errors import ModelFileError  # noqa: E402


def test_pixel_shuffle_equals_tf_depth_to_space(rng):
    tf = tf_runtime.tf()
    x = rng.random((2, 5, 6, 12)).astype(np.float32)
    y = np.asarray(layers.PixelShuffle(2)(x))
    assert y.shape == (2, 10, 12, 3)
    np.testing.assert_array_equal(y, tf.nn.depth_to_space(x, 2).numpy())


@pytest.mark.parametrize("h,w", [(12, 10), (7, 9)])
def test_bicubic_upsample_matches_matlab_imresize(rng, h, w):
    x = rng.random((h, w, 3)).astype(np.float32)
    ours = np.asarray(layers.BicubicUpsample(4)(x[None]))[0]
    ref = upscale_bicubic(x, 4, kernel="matlab")
    assert ours.shape == ref.shape == (4 * h, 4 * w, 3)
    # interior: same kernel, same centre alignment
    np.testing.assert_allclose(ours[8:-8, 8:-8], ref[8:-8, 8:-8], atol=1e-5)
    # borders: symmetric padding like MATLAB's, so they agree too
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_bicubic_upsample_is_fixed_and_compiles_with_xla(rng):
    tf = tf_runtime.tf()
    layer = layers.BicubicUpsample(4)
    assert not layer.trainable_weights
    x = rng.random((1, 6, 8, 3)).astype(np.float32)
    jit = tf.function(lambda t: layer(t), jit_compile=True)
    np.testing.assert_allclose(jit(x).numpy(), np.asarray(layer(x)), atol=1e-6)
    # a constant image stays constant (weights sum to one)
    np.testing.assert_allclose(np.asarray(layer(np.full((1, 5, 5, 3), 0.3, np.float32))), 0.3, atol=1e-6)


def test_sr_resnet_shapes_prelu_and_bicubic_residual(rng):
    m = models.sr_resnet(num_filters=8, num_res_blocks=2, scale=4, batch_norm=True)
    assert m.input_shape == (None, None, None, 3)
    x = rng.random((1, 9, 11, 3)).astype(np.float32)
    assert m(x).shape == (1, 36, 44, 3)
    prelus = [lay for lay in m.layers if isinstance(lay, keras.layers.PReLU)]
    assert len(prelus) == 1 + 2 + 2                      # head, one per block, one per x2 stage
    for p in prelus:
        alpha = p.get_weights()[0]
        assert alpha.shape == (1, 1, p.input.shape[-1])   # shared over H and W
        np.testing.assert_allclose(alpha, 0.25)
    assert sum(isinstance(lay, keras.layers.BatchNormalization) for lay in m.layers) == 2 * 2 + 1
    assert sum(isinstance(lay, layers.PixelShuffle) for lay in m.layers) == 2

    # with the tail zeroed, a bicubic-residual net outputs exactly the bicubic upscale
    r = models.sr_resnet(num_filters=8, num_res_blocks=1, batch_norm=False, res_scale=0.1, bicubic_residual=True)
    tail = r.get_layer("tail_conv")
    tail.set_weights([np.zeros_like(v) for v in tail.get_weights()])
    np.testing.assert_allclose(np.asarray(r(x))[0], upscale_bicubic(x[0], 4, "matlab"), atol=1e-5)


def test_srcnn_keeps_size_and_discriminator_gives_a_probability(rng):
    s = models.srcnn(n1=8, n2=4)
    x = rng.random((1, 20, 16, 3)).astype(np.float32)
    assert s(x).shape == (1, 20, 16, 3)
    assert [lay.kernel_size for lay in s.layers if isinstance(lay, keras.layers.Conv2D)] == [(9, 9), (5, 5), (5, 5)]
    d = models.discriminator(hr_size=32, num_filters=4)
    p = np.asarray(d(rng.random((3, 32, 32, 3)).astype(np.float32)))
    assert p.shape == (3, 1) and np.all((p > 0) & (p < 1))
    strides = [lay.strides[0] for lay in d.layers if isinstance(lay, keras.layers.Conv2D)]
    assert strides == [1, 2, 1, 2, 1, 2, 1, 2]


def test_build_from_spec_and_bad_specs():
    m = models.build({"factory": "sr_resnet", "kwargs": {"num_filters": 4, "num_res_blocks": 1, "scale": 2}})
    assert m(np.zeros((1, 4, 4, 3), np.float32)).shape == (1, 8, 8, 3)
    with pytest.raises(ModelFileError, match="unknown model factory"):
        models.build({"factory": "edsr"})
    with pytest.raises(ModelFileError, match="cannot build"):
        models.build({"factory": "srcnn", "kwargs": {"n9": 3}})


def test_vgg54_offline_names_the_alternative(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure")
    monkeypatch.setattr(keras.applications, "VGG19", offline)
    with pytest.raises(ModelFileError, match="--content-loss l1"):
        models.vgg54()


def test_make_predictor_matches_the_model_and_takes_any_size(rng):
    m = models.sr_resnet(num_filters=4, num_res_blocks=1, batch_norm=False)
    for jit in (True, False):
        predict = tf_runtime.make_predictor(m, jit_compile=jit)
        for shape in [(1, 6, 7, 3), (2, 5, 4, 3)]:
            x = rng.random(shape).astype(np.float32)
            y = predict(x)
            assert y.dtype == np.float32 and y.shape == (shape[0], shape[1] * 4, shape[2] * 4, 3)
            np.testing.assert_allclose(y, np.asarray(m(x)), atol=1e-5)


def test_auto_xla_follows_a_probe_timed_at_the_first_large_input_and_the_environment_overrides_it(
        rng, monkeypatch, tmp_path):
    from srviewer.core.methods import _use_xla

    monkeypatch.setattr(tf_runtime, "_xla_choice", {})          # this process has not timed it,
    monkeypatch.setenv("SRVIEWER_CACHE", str(tmp_path))         # nor has this machine
    m = models.sr_resnet(num_filters=4, num_res_blocks=1, batch_norm=False)
    predict = tf_runtime.make_predictor(m, xla_min_pixels=64)   # jit_compile None: by size, then the probe
    x = rng.random((1, 6, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(predict(x), np.asarray(m(x)), atol=1e-5)
    assert predict.jit_compile is None and tf_runtime.xla_choice() == {}   # a small input times nothing
    engine = predict.engine_for((1, 8, 8, 3))
    choice = tf_runtime.xla_choice()
    assert choice["xla_ms"] > 0 and choice["plain_ms"] > 0 and choice["kept"] is False
    assert engine == ("xla" if choice["faster"] else "plain") and choice["faster"] == (choice["xla_ms"] < choice["plain_ms"])
    for value, expected in (("auto", None), ("1", True), ("on", True), ("0", False), ("OFF", False)):
        monkeypatch.setenv("SRVIEWER_XLA", value)
        assert _use_xla() is expected
    monkeypatch.delenv("SRVIEWER_XLA")
    assert _use_xla() is None


def test_an_unknown_xla_or_precision_setting_is_a_user_error_naming_the_variable(tmp_path, monkeypatch):
    from srviewer.core.methods import ModelMethod, _use_xla
    from srviewer.errors import SrviewerError

    monkeypatch.setenv("SRVIEWER_XLA", "maybe")
    with pytest.raises(SrviewerError, match="SRVIEWER_XLA='maybe'.*on, off or auto"):
        _use_xla()
    monkeypatch.setenv("SRVIEWER_XLA", "off")
    monkeypatch.setenv("SRVIEWER_PRECISION", "half")
    path = tmp_path / "tiny.keras"
    models.sr_resnet(num_filters=4, num_res_blocks=1, batch_norm=False).save(path)
    method = ModelMethod("tiny", path)
    with pytest.raises(SrviewerError, match="SRVIEWER_PRECISION='half'.*float32 or mixed"):
        method.load()
    monkeypatch.setenv("SRVIEWER_PRECISION", "Mixed")
    assert method.load().scale == 4


def test_the_xla_probe_imports_tensorflow_itself_without_deadlocking():
    import subprocess
    import sys

    code = "from srviewer.core import tf_runtime; print(tf_runtime.xla_is_faster(), sorted(tf_runtime.xla_choice()))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] in ("True", "False") and "plain_ms" in done.stdout


def test_is_oom_and_device_description():
    tf = tf_runtime.tf()
    assert tf_runtime.is_oom(tf.errors.ResourceExhaustedError(None, None, "boom"))
    assert tf_runtime.is_oom(MemoryError())
    assert tf_runtime.is_oom(RuntimeError("OOM when allocating tensor"))
    assert not tf_runtime.is_oom(ValueError("bad shape"))
    assert tf_runtime.device_description().split(":")[0] in ("CPU", "GPU")


def test_make_predictor_falls_back_when_xla_cannot_compile(rng, caplog):
    tf = tf_runtime.tf()

    class HostOp(keras.layers.Layer):   # a py_func: XLA cannot compile it
        def call(self, x):
            y = tf.numpy_function(lambda a: a * 2.0, [x], tf.float32)
            return tf.ensure_shape(y, x.shape)

    inp = keras.Input((None, None, 3))
    model = keras.Model(inp, HostOp()(inp))
    predict = tf_runtime.make_predictor(model, jit_compile=True)
    x = rng.random((1, 4, 5, 3)).astype(np.float32)
    with caplog.at_level("WARNING", logger="srviewer.core.tf_runtime"):
        np.testing.assert_allclose(predict(x), 2 * x, rtol=1e-6)
    assert "XLA compilation failed" in caplog.text


def test_pixel_shuffle_round_trips_through_a_keras_file_in_safe_mode(tmp_path, rng):
    inp = keras.Input((None, None, 12))
    model = keras.Model(inp, layers.PixelShuffle(2, name="shuffle")(inp))
    model.save(tmp_path / "ps.keras")
    back = keras.saving.load_model(tmp_path / "ps.keras", safe_mode=True, compile=False)
    layer = back.get_layer("shuffle")
    assert isinstance(layer, layers.PixelShuffle) and layer.scale == 2
    x = rng.random((1, 3, 4, 12)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(back(x)), np.asarray(model(x)))


def test_tiny_sr_resnet_maps_16_to_64_and_stays_finite(rng):
    m = models.sr_resnet(num_filters=8, num_res_blocks=1)
    y = np.asarray(m(rng.random((2, 16, 16, 3)).astype(np.float32), training=False))
    assert y.shape == (2, 64, 64, 3) and y.dtype == np.float32 and np.all(np.isfinite(y))
    assert models.sr_resnet(num_filters=4, num_res_blocks=1, scale=2)(np.zeros((1, 16, 16, 3), np.float32)).shape \
        == (1, 32, 32, 3)
    with pytest.raises(ValueError, match="scale"):
        models.sr_resnet(num_filters=4, num_res_blocks=1, scale=3)
