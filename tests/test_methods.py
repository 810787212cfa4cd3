"""The method registry: bicubic, shipped and user models, availability, tiling/OOM/cancel pass-through."""

import subprocess
import sys

import numpy as np
import pytest

from srviewer.core import methods
from srviewer.core.cancel import CancelToken
from srviewer.core.conventions import upscale_bicubic
from srviewer.core.images import from_array
from srviewer.errors import Cancelled, MethodUnavailable, ModelFileError, OutOfMemoryError


def test_importing_the_registry_does_not_import_tensorflow(tmp_path):
    code = ("import sys; from srviewer.core.methods import default_registry; r = default_registry(); "
            "[m.availability() for m in r]; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env={"SRVIEWER_WEIGHTS": str(tmp_path), "PATH": ""})


def test_bicubic_both_kernels(rng):
    lr = rng.random((9, 7, 3)).astype(np.float32)
    for kernel in ("matlab", "opencv"):
        out = methods.BicubicMethod(kernel).upscale(lr)
        assert out.shape == (36, 28, 3) and out.dtype == np.float32
        np.testing.assert_allclose(out, np.clip(upscale_bicubic(lr, 4, kernel), 0, 1), atol=1e-6)
        assert 0.0 <= out.min() and out.max() <= 1.0


def test_missing_weights_make_methods_unavailable_with_the_file_name(tmp_path, monkeypatch):
    monkeypatch.setenv("SRVIEWER_WEIGHTS", str(tmp_path))
    registry = methods.default_registry()
    assert registry.names() == ["bicubic", "srcnn", "fsrcnn", "espcn", "vdsr", "srresnet", "srgan"]   # lineage order
    ok, reason = registry.get("srgan").availability()
    assert not ok and "srgan.weights.h5 not found" in reason and "srviewer train srgan" in reason
    with pytest.raises(MethodUnavailable, match="srgan.weights.h5 not found"):
        registry.get("srgan").upscale(np.zeros((4, 4, 3), np.float32))
    (tmp_path / "srgan.weights.h5").write_bytes(b"x")
    ok, reason = registry.get("srgan").availability()
    assert not ok and "srgan.json not found" in reason
    assert registry.get("bicubic").availability() == (True, "")
    with pytest.raises(ValueError):
        registry.register(methods.BicubicMethod())


def _export(folder, name, factory, kwargs, input_kind):
    from srviewer.core import models
    from srviewer.core.atomic import atomic_write_json

    model = models.build({"factory": factory, "kwargs": kwargs})
    model.save_weights(str(folder / f"{name}.weights.h5"))
    atomic_write_json(folder / f"{name}.json", {"factory": factory, "kwargs": kwargs, "scale": 4,
                                                "input": input_kind, "label": name.upper(), "format": 1})
    return model


def test_shipped_models_load_lazily_tile_and_match_the_model(tmp_path, rng):
    srr = _export(tmp_path, "srresnet", "sr_resnet", {"num_filters": 4, "num_res_blocks": 1, "batch_norm": False}, "lr")
    srcnn = _export(tmp_path, "srcnn", "srcnn", {"n1": 4, "n2": 4}, "bicubic")
    registry = methods.default_registry(weights_dir=tmp_path)
    lr = rng.random((60, 50, 3)).astype(np.float32)

    method = registry.get("srresnet")
    method.tile, method.jit_compile = 8, False     # tiles of (8 + 2 * 16)^2 LR pixels: several here
    fractions = []
    out = method.upscale(lr, progress=fractions.append)
    assert out.shape == (240, 200, 3) and 0.0 <= out.min() and out.max() <= 1.0
    np.testing.assert_allclose(out, np.clip(np.asarray(srr(lr[None]))[0], 0, 1), atol=1e-4)
    assert len(fractions) > 1 and fractions[-1] == 1.0

    bic = registry.get("srcnn")
    bic.jit_compile = False
    out = bic.upscale(lr)
    up = upscale_bicubic(lr, 4, "matlab")
    np.testing.assert_allclose(out, np.clip(np.asarray(srcnn(up[None]))[0], 0, 1), atol=1e-4)

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        method.upscale(lr, cancel=token)


def test_oom_at_every_tile_size_becomes_out_of_memory_error(tmp_path, rng, monkeypatch):
    _export(tmp_path, "srresnet", "sr_resnet", {"num_filters": 4, "num_res_blocks": 1, "batch_norm": False}, "lr")
    method = methods.default_registry(weights_dir=tmp_path).get("srresnet")
    method.jit_compile = False
    method.load()
    sizes = []

    def oom(x):
        sizes.append(x.shape[1])
        raise MemoryError()

    method._loaded.run = oom          # the Predictor's model call (Keras' compiled function)
    with pytest.raises(OutOfMemoryError, match="ran out of memory"):
        method.upscale(rng.random((300, 300, 3)).astype(np.float32))
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) > 1


def test_user_model_file_with_value_range_and_bad_file(tmp_path, rng):
    import keras
    # a model working in 0..255: x4 nearest upscale
    inp = keras.Input((None, None, 3))
    keras.Model(inp, keras.layers.UpSampling2D(4)(inp)).save(tmp_path / "nearest.keras")
    registry = methods.default_registry(weights_dir=tmp_path)
    method = registry.add_model_file(tmp_path / "nearest.keras", value_range="0..255")
    assert method.name == "nearest" and method.name in registry.names()
    lr = rng.random((5, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(method.upscale(lr), lr.repeat(4, 0).repeat(4, 1), atol=1e-5)
    assert registry.add_model_file(tmp_path / "nearest.keras").name == "nearest_2"
    (tmp_path / "bad.keras").write_bytes(b"PK junk")
    with pytest.raises(ModelFileError):
        registry.add_model_file(tmp_path / "bad.keras")
    assert "bad" not in registry.names()


def test_upscale_image_keeps_alpha_and_16_bit(rng):
    rgb = (rng.random((6, 5, 3)) * 65535).astype(np.uint16)
    alpha = np.full((6, 5), 40000, np.uint16)
    out = methods.upscale_image(methods.BicubicMethod(), from_array(np.dstack([rgb, alpha])))
    assert out.rgb.dtype == np.uint16 and out.rgb.shape == (24, 20, 3) and out.bit_depth == 16
    assert out.alpha.dtype == np.uint16 and out.alpha.shape == (24, 20)
    np.testing.assert_array_equal(out.alpha, 40000)
    expected = np.clip(upscale_bicubic(rgb.astype(np.float32) / 65535, 4), 0, 1) * 65535
    assert np.abs(out.rgb.astype(float) - expected).max() <= 1.0
    out8 = methods.upscale_image(methods.BicubicMethod(), from_array((rgb // 257).astype(np.uint8)))
    assert out8.rgb.dtype == np.uint8 and out8.alpha is None
