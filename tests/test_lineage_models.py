"""FSRCNN, ESPCN and VDSR: shapes at x2/x3/x4, the papers' layouts, rebuilt from sidecars, tiled like
the others (results equal the untiled model), and the trainer lowering their loss on tiny data."""

import json
import os

import numpy as np
import pytest

from srviewer.cli import main
from srviewer.core.atomic import atomic_write_json
from srviewer.core.conventions import downscale, upscale_bicubic
from srviewer.core.images import read_image, to_float, to_uint8, write_image
from srviewer.train.events import read_events

import keras

from srviewer.core import layers, models  # noqa: E402


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_fsrcnn_and_espcn_give_scale_times_the_lr_at_x2_x3_x4(rng, scale):
    x = rng.random((2, 7, 9, 3)).astype(np.float32)
    for model in (models.fsrcnn(d=8, s=4, m=2, scale=scale), models.espcn(scale=scale, n1=8, n2=4)):
        y = np.asarray(model(x))
        assert y.shape == (2, 7 * scale, 9 * scale, 3), model.name
        assert np.all(np.isfinite(y))


def test_fsrcnn_is_the_papers_layout_with_prelu_and_a_9x9_deconvolution():
    m = models.fsrcnn()                                  # FSRCNN(56, 12, 4), x4
    convs = [lay for lay in m.layers if type(lay) is keras.layers.Conv2D]
    assert [(c.kernel_size[0], c.filters) for c in convs] == [(5, 56), (1, 12), (3, 12), (3, 12), (3, 12), (3, 12), (1, 56)]
    deconv = m.get_layer("deconv")
    assert isinstance(deconv, keras.layers.Conv2DTranspose)
    assert deconv.kernel_size == (9, 9) and deconv.strides == (4, 4) and deconv.filters == 3
    prelus = [lay for lay in m.layers if isinstance(lay, keras.layers.PReLU)]
    assert len(prelus) == 1 + 1 + 4 + 1                  # extract, shrink, 4 maps, expand; none after the deconv
    for p in prelus:
        np.testing.assert_allclose(p.get_weights()[0], 0.25)
        assert p.get_weights()[0].shape == (1, 1, p.input.shape[-1])


def test_espcn_is_5_3_3_with_tanh_and_a_pixel_shuffle_at_the_end(rng):
    m = models.espcn(scale=3)
    convs = [lay for lay in m.layers if isinstance(lay, keras.layers.Conv2D)]
    assert [(c.kernel_size[0], c.filters) for c in convs] == [(5, 64), (3, 32), (3, 27)]
    assert [c.activation.__name__ for c in convs] == ["tanh", "tanh", "linear"]
    assert isinstance(m.layers[-1], layers.PixelShuffle) and m.layers[-1].scale == 3
    # the shuffle puts channel c + 3 * (dy * 3 + dx) of LR pixel (i, j) at HR pixel (3i + dy, 3j + dx)
    x = rng.random((1, 4, 5, 3)).astype(np.float32)
    pre = np.asarray(keras.Model(m.input, m.get_layer("conv3").output)(x))[0]
    out = np.asarray(m(x))[0]
    np.testing.assert_allclose(out[3 * 2 + 1, 3 * 4 + 2, 1], pre[2, 4, 1 + 3 * (1 * 3 + 2)], atol=1e-6)


def test_espcn_centres_its_input_so_the_tanh_units_leave_their_linear_range(rng):
    """At the start the hidden tanh layers see pre-activations of order one (not 0.05, where tanh is
    a straight line and the net a linear filter): a [0, 1] input is centred to [-1, 1] first."""
    m = models.espcn(scale=4)
    x = rng.random((1, 24, 24, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(m.get_layer("centre")(x)), 2 * x - 1, atol=1e-6)
    conv1 = m.get_layer("conv1")
    pre = np.asarray(keras.Model(m.input, conv1.output)(x))
    assert 0.3 < np.std(pre) < 1.0                           # tanh output: well away from zero ...
    assert np.mean(np.abs(pre) > 0.5) > 0.2                   # ... a good share in the bent part


def test_espcn_takes_relu_for_its_hidden_layers_and_refuses_other_activations(rng):
    """`--activation relu`: the two hidden layers change, nothing else; the setting travels from the
    training config to the sidecar's factory arguments."""
    from srviewer.errors import DataError
    from srviewer.train.sr_config import SRConfig

    m = models.espcn(scale=4, n1=8, n2=4, activation="relu")
    convs = [lay for lay in m.layers if isinstance(lay, keras.layers.Conv2D)]
    assert [c.activation.__name__ for c in convs] == ["relu", "relu", "linear"]
    x = rng.random((1, 6, 7, 3)).astype(np.float32)
    hidden = np.asarray(keras.Model(m.input, m.get_layer("conv2").output)(x))
    assert hidden.min() == 0.0 and hidden.max() > 0      # ReLU: no negative activations, some positive
    with pytest.raises(ValueError, match="activation"):
        models.espcn(activation="sigmoid")
    spec = SRConfig.from_dict({"kind": "espcn", "activation": "relu", "data": ["x"]}).generator_spec()
    assert spec["kwargs"]["activation"] == "relu"
    assert models.build(spec).get_layer("conv1").activation.__name__ == "relu"
    with pytest.raises(DataError, match="--activation must be tanh or relu"):
        SRConfig.from_dict({"kind": "espcn", "activation": "gelu", "data": ["x"]})


def test_vdsr_keeps_the_size_and_adds_its_residual_to_the_bicubic_input(rng):
    m = models.vdsr()
    convs = [lay for lay in m.layers if isinstance(lay, keras.layers.Conv2D)]
    assert len(convs) == 20 and all(c.kernel_size == (3, 3) for c in convs)
    assert [c.filters for c in convs] == [64] * 19 + [3]
    small = models.vdsr(depth=4, filters=8)
    x = rng.random((1, 21, 17, 3)).astype(np.float32)
    assert small(x).shape == (1, 21, 17, 3)
    last = small.get_layer("conv3")
    last.set_weights([np.zeros_like(v) for v in last.get_weights()])
    np.testing.assert_allclose(np.asarray(small(x)), x, atol=1e-6)     # zero residual: the input itself
    with pytest.raises(ValueError, match="depth"):
        models.vdsr(depth=1)


@pytest.mark.parametrize("factory", ["fsrcnn", "espcn"])
def test_a_zero_last_layer_with_bicubic_residual_gives_the_matlab_bicubic_upscale(rng, factory):
    model = models.build({"factory": factory, "kwargs": {"scale": 4, "bicubic_residual": True}})
    last = model.get_layer("deconv" if factory == "fsrcnn" else "conv3")
    last.set_weights([np.zeros_like(v) for v in last.get_weights()])
    x = rng.random((9, 11, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model(x[None]))[0], upscale_bicubic(x, 4, "matlab"), atol=1e-5)


SPECS = {
    "fsrcnn": ({"d": 8, "s": 4, "m": 2, "scale": 4}, "lr"),
    "espcn": ({"scale": 4, "n1": 8, "n2": 4}, "lr"),
    "vdsr": ({"depth": 5, "filters": 8}, "bicubic"),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_shipped_files_load_by_sidecar_and_run_tiled_like_the_untiled_model(tmp_path, rng, name):
    """weights/NAME.weights.h5 + NAME.json make the method; cut into tiles (receptive field within
    the overlap) it gives what the whole-image model gives."""
    from srviewer.core.methods import default_registry

    kwargs, input_kind = SPECS[name]
    model = models.build({"factory": name, "kwargs": kwargs})
    model.save_weights(str(tmp_path / f"{name}.weights.h5"))
    atomic_write_json(tmp_path / f"{name}.json", {"factory": name, "kwargs": kwargs, "scale": 4,
                                                  "input": input_kind, "label": name.upper(), "format": 1})
    method = default_registry(weights_dir=tmp_path).get(name)
    assert method.availability() == (True, "")
    method.tile, method.jit_compile = 8, False        # tiles of (8 + 2*16)^2 LR pixels: this image needs two
    lr = rng.random((48, 44, 3)).astype(np.float32)
    out = method.upscale(lr)
    assert method.load().input_kind == input_kind and method.scale == 4
    x = upscale_bicubic(lr, 4, "matlab") if input_kind == "bicubic" else lr
    whole = np.clip(np.asarray(model(x[None]))[0], 0, 1)
    assert out.shape == whole.shape == (192, 176, 3)
    np.testing.assert_allclose(out, whole, atol=1e-4)


def test_the_model_process_runs_them_as_this_process_does(tmp_path, rng, model_process):
    """The window's path: loaded and run in the child Python (TensorFlow there), same result."""
    from srviewer.core.methods import default_registry

    for name, (kwargs, input_kind) in SPECS.items():
        models.build({"factory": name, "kwargs": kwargs}).save_weights(str(tmp_path / f"{name}.weights.h5"))
        atomic_write_json(tmp_path / f"{name}.json", {"factory": name, "kwargs": kwargs, "scale": 4,
                                                      "input": input_kind, "label": name.upper(), "format": 1})
    lr = rng.random((20, 18, 3)).astype(np.float32)
    here, there = default_registry(weights_dir=tmp_path), default_registry(weights_dir=tmp_path, process=model_process)
    for name in SPECS:
        out = there.get(name).upscale(lr)
        assert out.shape == (80, 72, 3) and there.get(name).scale == 4 and there.get(name).process is model_process
        np.testing.assert_allclose(out, here.get(name).upscale(lr), atol=1e-5)
    assert model_process.pid not in (None, os.getpid())               # it ran there, not here


def test_the_window_and_cli_list_the_lineage_in_order():
    from srviewer.core.lineage import DEFAULT_TICKED, LINEAGE, lineage_order
    from srviewer.core.methods import default_registry

    assert [s.caption for s in LINEAGE] == ["Bicubic (1981)", "SRCNN (2014)", "FSRCNN (2016)", "ESPCN (2016)",
                                            "VDSR (2016)", "SRResNet (2017)", "SRGAN (2017)"]
    assert DEFAULT_TICKED == ("bicubic", "srcnn", "srresnet", "srgan")
    assert default_registry().names() == [s.name for s in LINEAGE]
    assert lineage_order(["mine", "srgan", "bicubic", "vdsr", "other", "srgan"]) == ["bicubic", "vdsr", "srgan",
                                                                                      "mine", "other"]


def test_a_missing_weights_file_names_the_command_that_trains_it(tmp_path):
    from srviewer.core.methods import default_registry

    registry = default_registry(weights_dir=tmp_path)
    for name in ("fsrcnn", "espcn", "vdsr"):
        ok, reason = registry.get(name).availability()
        assert not ok and f"{name}.weights.h5 not found" in reason
        assert f"srviewer train {name} --config configs/{name}.json" in reason


# -- training ------------------------------------------------------------------------------------
@pytest.fixture
def tiny_data(tmp_path, rng):
    """Four 48x48 photos-to-be: smooth waves with noise, and sharp-edged blocks (what bicubic blurs
    and a residual net learns to sharpen)."""
    folder = tmp_path / "train"
    for i in range(4):
        y, x = np.mgrid[0:48, 0:48]
        base = np.stack([np.sin(x / (3 + i)), np.cos(y / (4 + i)), np.sin((x + y) / 5)], -1)
        img = (base + 1) * 110 + rng.normal(0, 6, base.shape)
        for _ in range(6):
            y0, x0 = rng.integers(0, 40, 2)
            img[y0:y0 + rng.integers(4, 16), x0:x0 + rng.integers(4, 16)] = rng.integers(0, 256, 3)
        write_image(folder / f"img_{i}.png", img.clip(0, 255).astype(np.uint8))
    return folder


TINY = {
    "fsrcnn": ["--d", "8", "--s", "4", "--m", "1", "--lr", "0.003"],
    "espcn": ["--n1", "8", "--n2", "4", "--lr", "0.003"],
    "vdsr": ["--depth", "5", "--filters", "16", "--lr", "0.001", "--clip", "0.01", "--steps", "60", "--patch", "48"],
}


@pytest.mark.parametrize("kind", list(TINY))
def test_training_lowers_the_loss_and_the_sidecar_rebuilds_the_model(tmp_path, tiny_data, kind):
    run = tmp_path / "run"
    assert main(["train", kind, "--data", str(tiny_data), "--val", "none", "--steps", "30", "--batch", "4",
                 "--patch", "24", "--xla", "off", "--log-every", "1", "--out", str(run), *TINY[kind]]) == 0
    losses = [e["loss"] for e in read_events(run) if e["event"] == "train"]
    assert len(losses) == (60 if kind == "vdsr" else 30) and np.isfinite(losses).all()
    sidecar = json.loads((run / "latest.json").read_text())
    assert sidecar["factory"] == kind and sidecar["input"] == ("bicubic" if kind == "vdsr" else "lr")
    if kind != "vdsr":
        assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5]), losses
    else:   # VDSR starts at its bicubic input (residual ~0): the training images must come out better than that
        assert read_events(run)[0]["kind"] == "vdsr" and json.loads((run / "config.json").read_text())["clip"] == 0.01
        model = models.build(sidecar)
        model.load_weights(str(run / "latest.weights.h5"))
        hr = [to_float(read_image(p).rgb) for p in sorted(tiny_data.iterdir())]
        bicubic = [upscale_bicubic(downscale(to_uint8(h), 4), 4).astype(np.float32) / 255 for h in hr]
        before = np.mean([np.mean((b - h) ** 2) for b, h in zip(bicubic, hr)])
        after = np.mean([np.mean((np.asarray(model(b[None]))[0] - h) ** 2) for b, h in zip(bicubic, hr)])
        assert after < 0.95 * before, (after, before)        # it gains slowly from its bicubic start
    weights = tmp_path / "weights"          # exported like the shipped ones: a method of the registry
    assert main(["train", "export", str(run), "--name", kind, "--which", "latest", "--weights-dir", str(weights)]) == 0
    card = (weights / f"{kind}.md").read_text()
    assert card.startswith(f"# {kind.upper()} x4") and "the paper: Y only" in card
    assert ("Adam, learning rate 0.001, adjustable gradient clipping 0.01" if kind == "vdsr" else "Adam, learning rate 0.003.") in card
    from srviewer.core.methods import default_registry

    method = default_registry(weights_dir=weights).get(kind)
    out = method.upscale(np.random.default_rng(0).random((10, 12, 3)).astype(np.float32))
    assert out.shape == (40, 48, 3) and 0.0 <= out.min() and out.max() <= 1.0


def test_vdsr_adjustable_clipping_bounds_each_gradient_by_clip_over_the_current_rate(tmp_path, tiny_data):
    from srviewer.train.sr_config import SRConfig
    from srviewer.train.sr_trainer import SRTrainer

    cfg = SRConfig.from_dict({"kind": "vdsr", "data": [str(tiny_data)], "depth": 3, "filters": 4,
                              "optimizer": "sgd", "lr": 0.1, "lr_boundaries": [5], "lr_factor": 0.1, "clip": 0.01})
    trainer = SRTrainer(cfg, tmp_path / "run")
    assert type(trainer.g_opt).__name__ == "SGD"
    grads = [np.array([-5.0, -0.05, 0.0, 0.03, 2.0], np.float32)]
    np.testing.assert_allclose(np.asarray(trainer._clipped(grads)[0]), [-0.1, -0.05, 0.0, 0.03, 0.1], rtol=1e-6)
    trainer.g_opt.iterations.assign(6)                 # past the boundary (step 5): rate 0.01, bound 1.0
    np.testing.assert_allclose(np.asarray(trainer._clipped(grads)[0]), [-1.0, -0.05, 0.0, 0.03, 1.0], rtol=1e-5)
    cfg.clip = 0.0
    assert trainer._clipped(grads) is grads


@pytest.mark.parametrize("flags,message", [(["--clip", "-1"], "--clip"), (["--optimizer", "adamw"], "--optimizer")])
def test_bad_optimizer_settings_are_one_line_errors(tmp_path, tiny_data, capsys, flags, message):
    assert main(["train", "vdsr", "--data", str(tiny_data), "--out", str(tmp_path / "r"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
