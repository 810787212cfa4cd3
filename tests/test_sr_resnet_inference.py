"""The fast sr_resnet forward (BN folded, tail at half resolution) gives the model's own output, borders included."""

import numpy as np
import pytest

import keras

from srviewer.core import models, sr_resnet_inference, tf_runtime  # noqa: E402


def _space_to_depth(x, s):
    return np.asarray(tf_runtime.tf().nn.space_to_depth(x, s))


@pytest.mark.parametrize("k,s,c_in,c_out", [(9, 2, 4, 3), (3, 2, 5, 2), (5, 4, 2, 3), (1, 2, 3, 3)])
def test_polyphase_kernel_reproduces_the_full_resolution_conv(k, s, c_in, c_out, rng):
    tf = tf_runtime.tf()
    kernel = rng.normal(size=(k, k, c_in, c_out)).astype(np.float32)
    bias = rng.normal(size=c_out).astype(np.float32)
    x = rng.random((1, 6 * s, 5 * s, c_in)).astype(np.float32)
    want = tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "SAME"), bias)
    k2, b2 = sr_resnet_inference.polyphase_kernel(kernel, bias, s)
    assert k2.shape[2:] == (s * s * c_in, s * s * c_out) and k2.shape[0] % 2 == 1
    got = tf.nn.depth_to_space(tf.nn.bias_add(tf.nn.conv2d(_space_to_depth(x, s), k2, 1, "SAME"), b2), s)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-4)


def test_polyphase_kernel_refuses_even_kernels():
    with pytest.raises(ValueError, match="odd"):
        sr_resnet_inference.polyphase_kernel(np.zeros((4, 4, 1, 1), np.float32), np.zeros(1, np.float32), 2)


def _with_random_prelu(model, rng):
    """Random PReLU slopes and BN statistics: the defaults (0.25, mean 0, var 1) would hide a mix-up."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.PReLU):
            layer.set_weights([rng.uniform(-1, 1, layer.get_weights()[0].shape).astype(np.float32)])
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 2, c), rng.normal(0, 0.3, c), rng.normal(0, 0.3, c),
                               rng.uniform(0.2, 3, c)])
    return model


@pytest.mark.parametrize("kwargs", [
    {"num_filters": 8, "num_res_blocks": 1},
    {"num_filters": 8, "num_res_blocks": 2, "batch_norm": False, "res_scale": 0.1, "bicubic_residual": True},
    {"num_filters": 4, "num_res_blocks": 1, "scale": 2},
    {"num_filters": 4, "num_res_blocks": 1, "scale": 8},
    {"num_filters": 4, "num_res_blocks": 2, "scale": 1, "res_scale": 0.5},
])
def test_fast_call_equals_the_model(kwargs, rng):
    model = _with_random_prelu(models.sr_resnet(**kwargs), rng)
    fast = sr_resnet_inference.fast_call(model)
    assert fast is not None
    for shape in [(1, 7, 5, 3), (2, 4, 9, 3)]:
        x = rng.random(shape).astype(np.float32)
        np.testing.assert_allclose(np.asarray(fast(x)), np.asarray(model(x)), atol=1e-5)


def test_other_models_keep_their_own_call():
    assert sr_resnet_inference.fast_call(models.srcnn(n1=4, n2=2)) is None
    inp = keras.Input((None, None, 3))
    shuffled = keras.layers.Conv2D(12, 3, padding="same", name="up0_conv")(inp)
    from srviewer.core.layers import PixelShuffle

    x = PixelShuffle(2, name="up0_shuffle")(shuffled)
    x = keras.layers.PReLU(shared_axes=[1, 2], name="up0_prelu")(x)
    out = keras.layers.Conv2D(3, 9, padding="same", activation="sigmoid", name="tail_conv")(x)
    assert sr_resnet_inference.fast_call(keras.Model(inp, out)) is None      # an activation on the tail


def test_a_model_that_only_looks_like_an_sr_resnet_runs_as_it_is(caplog):
    from srviewer.core.layers import PixelShuffle

    L = keras.layers
    inp = keras.Input((None, None, 3))
    x = L.PReLU(shared_axes=[1, 2], name="head_prelu")(L.Conv2D(4, 9, padding="same", name="head_conv")(inp))
    y = L.Conv2D(4, 3, padding="same", name="res0_conv1")(x)
    y = L.Conv2D(4, 3, padding="same", name="res0_conv2")(L.PReLU(shared_axes=[1, 2], name="res0_prelu")(y))
    x = L.Conv2D(4, 3, padding="same", name="body_conv")(L.Add(name="res0_add")([x, y]))   # no long skip
    x = PixelShuffle(2, name="up0_shuffle")(L.Conv2D(16, 3, padding="same", name="up0_conv")(x))
    out = L.Conv2D(3, 9, padding="same", name="tail_conv")(L.PReLU(shared_axes=[1, 2], name="up0_prelu")(x))
    with caplog.at_level("WARNING", logger="srviewer.core.sr_resnet_inference"):
        assert sr_resnet_inference.fast_call(keras.Model(inp, out)) is None
    assert "disagrees" in caplog.text


def test_make_predictor_takes_the_fast_tail_for_sr_resnet(rng):
    model = _with_random_prelu(models.sr_resnet(num_filters=4, num_res_blocks=1, bicubic_residual=True), rng)
    predict = tf_runtime.make_predictor(model, jit_compile=True)
    assert predict.fast_path
    x = rng.random((1, 11, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(predict(x), np.asarray(model(x)), atol=1e-5)
    assert not tf_runtime.make_predictor(models.srcnn(n1=4, n2=2), jit_compile=False).fast_path


def test_mixed_precision_computes_in_16_bits_close_to_float32(rng):
    model = _with_random_prelu(models.sr_resnet(num_filters=8, num_res_blocks=2, bicubic_residual=True), rng)
    x = rng.random((1, 14, 9, 3)).astype(np.float32)
    exact = tf_runtime.make_predictor(model, jit_compile=False)(x)
    predict = tf_runtime.make_predictor(model, jit_compile=False, precision="mixed")
    assert predict.precision == tf_runtime.mixed_dtype() and predict.precision in ("float16", "bfloat16")
    y = predict(x)
    assert y.dtype == np.float32 and y.shape == exact.shape
    diff = np.abs(y - exact)
    assert 0 < diff.max() < 0.05 and diff.mean() < 0.005     # rounded in 16 bits, but the same picture


def test_mixed_precision_leaves_other_models_in_float32_and_rejects_unknown_names(rng, caplog):
    srcnn = models.srcnn(n1=4, n2=2)
    with caplog.at_level("WARNING", logger="srviewer.core.tf_runtime"):
        predict = tf_runtime.make_predictor(srcnn, jit_compile=False, precision="mixed")
    assert predict.precision == "float32" and "runs in float32" in caplog.text
    x = rng.random((1, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(predict(x), np.asarray(srcnn(x)), atol=1e-5)
    with pytest.raises(ValueError, match="precision"):
        tf_runtime.make_predictor(srcnn, precision="half")


@pytest.mark.parametrize("jit", [False, True])
def test_two_sr_resnets_of_one_architecture_share_one_traced_program(jit, rng):
    """SRResNet and the SRGAN generator: one trace (and XLA compilation) per input size serves both,
    each still computing with its own weights."""
    kwargs = {"num_filters": 4, "num_res_blocks": 2, "batch_norm": False, "bicubic_residual": True, "res_scale": 0.1}
    a, b = (_with_random_prelu(models.sr_resnet(**kwargs), rng) for _ in range(2))
    pa, pb = tf_runtime.make_predictor(a, jit_compile=jit), tf_runtime.make_predictor(b, jit_compile=jit)
    x = rng.random((1, 9, 7, 3)).astype(np.float32)
    ya, yb = pa(x), pb(x)
    np.testing.assert_allclose(ya, np.asarray(a(x)), atol=1e-5)
    np.testing.assert_allclose(yb, np.asarray(b(x)), atol=1e-5)
    assert np.abs(ya - yb).max() > 1e-3                       # two models, not one twice
    shared = [fn for (key, j), fn in tf_runtime._shared.items() if j == jit and key[1] == 2 and key[5][0][2:] == (3, 4)]
    assert len(shared) == 1
    assert shared[0].experimental_get_tracing_count() == 1    # b reused a's trace


def test_auto_xla_leaves_small_inputs_to_the_plain_graph(rng, monkeypatch):
    """XLA compiles for every input size; below `xla_min_pixels` the plain graph runs (no compilation),
    at and above it XLA, when the machine's verdict is XLA; an explicit choice holds for every size."""
    monkeypatch.setattr(tf_runtime, "_xla_choice", {"faster": True, "xla_ms": 1.0, "plain_ms": 2.0, "kept": True})
    model = _with_random_prelu(models.sr_resnet(num_filters=5, num_res_blocks=3, bicubic_residual=True), rng)
    auto = tf_runtime.make_predictor(model, xla_min_pixels=100)

    def traces(jit):          # this architecture's shared program (no other test builds 5 filters, 3 blocks)
        fns = [fn for (key, j), fn in tf_runtime._shared.items() if j == jit and key[1] == 3 and key[5][0][3] == 5]
        return sum(fn.experimental_get_tracing_count() for fn in fns)

    small, large = rng.random((1, 9, 11, 3)).astype(np.float32), rng.random((1, 10, 10, 3)).astype(np.float32)
    assert auto.engine_for(small.shape) == "plain" and auto.engine_for(large.shape) == "xla"
    np.testing.assert_allclose(auto(small), np.asarray(model(small)), atol=1e-5)
    assert traces(True) == 0 and traces(False) == 1          # the small input compiled nothing
    np.testing.assert_allclose(auto(large), np.asarray(model(large)), atol=1e-5)
    assert traces(True) == 1
    plain = tf_runtime.make_predictor(model, jit_compile=False)
    xla = tf_runtime.make_predictor(model, jit_compile=True)
    assert xla.engine_for(small.shape) == "xla" and plain.engine_for(large.shape) == "plain"
    assert tf_runtime.XLA_MIN_PIXELS == 128 * 128
