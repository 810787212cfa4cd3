"""Bad model files through the CLI's --model flag, and simulated out-of-memory in inference.

tests/test_model_files.py (core-models) checks load_model_file's errors one by one; here each
bad file goes through `srviewer upscale --model FILE` and must be exit 2 with one line that
says what is wrong, and an OOM (TensorFlow's ResourceExhaustedError or MemoryError) above a
tile size is retried with smaller tiles, then reported clearly.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import keras

from srviewer.cli import main  # noqa: E402
from srviewer.core import methods, models, tf_runtime  # noqa: E402
from srviewer.core.atomic import atomic_write_json  # noqa: E402
from srviewer.core.images import write_image  # noqa: E402
from srviewer.core.model_files import load_model_file  # noqa: E402
from srviewer.errors import ModelFileError, OutOfMemoryError  # noqa: E402

TINY = {"num_filters": 4, "num_res_blocks": 1, "batch_norm": False}


def _weights_pair(folder, name="m", kwargs=TINY, **sidecar):
    model = models.sr_resnet(**kwargs)
    model.save_weights(str(folder / f"{name}.weights.h5"))
    atomic_write_json(folder / f"{name}.json", {"factory": "sr_resnet", "kwargs": kwargs, "scale": 4, "input": "lr",
                                                "label": name, "format": 1, **sidecar})
    return folder / f"{name}.weights.h5"


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory):
    """name -> (path, a word the message must hold)."""
    d = tmp_path_factory.mktemp("models")
    files = {}
    good = models.sr_resnet(**TINY)
    good.save(d / "full.h5")
    data = (d / "full.h5").read_bytes()
    (d / "truncated.h5").write_bytes(data[: len(data) // 2])
    files["truncated .h5"] = (d / "truncated.h5", "truncated|HDF5|damaged|read")
    good.save(d / "full.keras")
    data = (d / "full.keras").read_bytes()
    (d / "truncated.keras").write_bytes(data[: len(data) // 3])
    files["truncated .keras"] = (d / "truncated.keras", "not a readable .keras file .*truncated, corrupt")
    (d / "empty.weights.h5").write_bytes(b"")
    atomic_write_json(d / "empty.json", {"factory": "sr_resnet", "kwargs": TINY, "scale": 4, "input": "lr", "format": 1})
    files["empty weights"] = (d / "empty.weights.h5", "model file is empty")
    inp = keras.Input((None, None, 3))
    classifier = keras.Model(inp, keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(inp)))
    classifier.save(d / "classifier.keras")
    files["wrong architecture (a classifier)"] = (d / "classifier.keras", "image|RGB|output|shape")
    files["wrong scale"] = (_weights_pair(d, "x2", scale=2), "x2")
    other = _weights_pair(d, "other")
    atomic_write_json(d / "other.json", {"factory": "sr_resnet", "kwargs": {**TINY, "num_filters": 8}, "scale": 4,
                                         "input": "lr", "format": 1})
    files["weights of another model"] = (other, "fit")
    out = keras.layers.Lambda(lambda t: t * 1.0)(keras.layers.UpSampling2D(4)(inp))
    keras.Model(inp, out).save(d / "lambda.keras")
    files[".keras with a Lambda"] = (d / "lambda.keras", "--trust-model-code")
    (d / "text.keras").write_text("not a model")
    files["text named .keras"] = (d / "text.keras", "not a readable .keras file .*another kind of file")
    return files


@pytest.mark.parametrize("case", ["truncated .h5", "truncated .keras", "empty weights",
                                  "wrong architecture (a classifier)", "wrong scale", "weights of another model",
                                  ".keras with a Lambda", "text named .keras"])
def test_a_bad_model_file_is_one_clear_line(case, bad_models, tmp_path, capsys, smooth_rgb):
    import re

    path, words = bad_models[case]
    with pytest.raises(ModelFileError) as info:
        load_model_file(path)
    assert "\n" not in str(info.value) and re.search(words, str(info.value)), str(info.value)
    image = tmp_path / "photo.png"
    write_image(image, smooth_rgb[:16, :16])
    code = main(["upscale", str(image), "--model", str(path), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("srviewer:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert path.name in lines[0] or path.stem.split(".")[0] in lines[0], lines[0]
    assert words and re.search(words, lines[0]), lines[0]
    assert not (tmp_path / "out.png").exists()


def test_the_lambda_file_loads_with_the_opt_in(bad_models, tmp_path, capsys, smooth_rgb):
    image = tmp_path / "photo.png"
    write_image(image, smooth_rgb[:8, :8])
    path, _ = bad_models[".keras with a Lambda"]
    code = main(["upscale", str(image), "--model", str(path), "--trust-model-code", "--method", "lambda",
                 "-o", str(tmp_path / "out.png")])
    assert code == 0, capsys.readouterr().err
    assert np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(tmp_path / "out.png")).shape == (32, 32, 3)


# -- out of memory ----------------------------------------------------------------------------
@pytest.fixture
def tiny_method(tmp_path):
    _weights_pair(tmp_path, "srresnet")
    method = methods.default_registry(weights_dir=tmp_path).get("srresnet")
    method.jit_compile = False
    method.load()
    return method


def _oom_above(method, limit, kind):
    """Wrap the method's predictor: inputs larger than `limit` LR px a side run out of memory."""
    tf = tf_runtime.tf()
    real, seen = method._loaded.run, []   # noqa: SLF001 - the Predictor's model call

    def predict(x):
        seen.append(max(x.shape[1:3]))
        if max(x.shape[1:3]) > limit:
            if kind == "tf":
                raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[1,64,512,512]")
            raise MemoryError("Unable to allocate 3.1 GiB")
        return real(x)

    method._loaded.run = predict   # noqa: SLF001
    return seen


@pytest.mark.parametrize("kind", ["tf", "numpy"])
def test_oom_above_a_tile_size_is_retried_smaller_and_gives_the_same_image(tiny_method, rng, kind):
    lr = rng.random((150, 150, 3)).astype(np.float32)
    whole = tiny_method.upscale(lr)
    tiny_method.tile = 128
    seen = _oom_above(tiny_method, 85, kind)   # 128-px tiles are 91 px with context, 64-px ones 82
    tiled = tiny_method.upscale(lr)
    assert max(seen) > 85 and seen[-1] <= 85                   # tried big, then smaller tiles
    assert np.abs(tiled - whole).max() < 1e-4


def test_oom_at_every_size_is_a_clear_error_through_the_cli(tmp_path, rng, monkeypatch, capsys):
    _weights_pair(tmp_path, "srresnet")
    image = tmp_path / "photo.png"
    write_image(image, (rng.random((80, 80, 3)) * 255).astype(np.uint8))
    tf = tf_runtime.tf()

    def exhausted(model, jit_compile=True, precision="float32", **_options):   # runs out of memory at any size
        def predict(x):
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[1,64,320,320]")
        return predict

    monkeypatch.setattr(tf_runtime, "make_predictor", exhausted)
    code = main(["upscale", str(image), "--weights-dir", str(tmp_path), "--method", "srresnet", "-o",
                 str(tmp_path / "out.png")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("srviewer:")]
    assert code == 2 and len(lines) == 1, err
    smallest = methods.tile_sizes()[-1]
    assert "out of memory" in lines[0] and f"{smallest}x{smallest}" in lines[0] and "--tile" in lines[0]
    with pytest.raises(OutOfMemoryError):
        m = methods.default_registry(weights_dir=tmp_path).get("srresnet")
        m.upscale(rng.random((40, 40, 3)).astype(np.float32))
    assert json.loads((tmp_path / "srresnet.json").read_text())["scale"] == 4
