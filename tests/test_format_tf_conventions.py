"""The TensorFlow formats through the conventions layer and tiling, as `--model` runs them.

Each x4 model is built from Keras in its own convention; the method's RGB [0, 1] output must
equal running the Keras model by hand in that convention (channel flip, range, layout), and a
fixed-size TFLite model, tiled at exactly its size, must equal its any-size twin run whole.
"""

import json

import numpy as np
import pytest

from conftest import SET5, needs_set5
from srviewer.core.methods import ModelMethod
from srviewer.errors import ModelFileError
from tf_format_models import (classifier, export_saved_model, keras_outputs, save_frozen_graph, save_tf1_saved_model,
                              save_tflite, sr_model)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("conv")
    plain = sr_model(scales=(4,))
    bgr255_nchw = sr_model(scales=(4,), layout="nchw", bgr=True, value_max=255.0, seed=3)
    heads = sr_model(scales=(2, 4), seed=5)
    fixed = sr_model(scales=(4,), fixed=(16, 16), seed=7)
    any_size = sr_model(scales=(4,), seed=7)
    any_size.set_weights(fixed.get_weights())
    return {
        "pb_bgr255_nchw": (bgr255_nchw, save_frozen_graph(bgr255_nchw, root / "bgr255_nchw.pb")),
        "pb_heads": (heads, save_frozen_graph(heads, root / "heads.pb")),
        "pb_classifier": (None, save_frozen_graph(classifier(), root / "classifier.pb")),
        "sm_bgr255_nchw": (bgr255_nchw, export_saved_model(bgr255_nchw, root / "sm_bgr255_nchw")),
        "sm_tf1": (plain, save_tf1_saved_model(plain, root / "sm_tf1", scale=4)),
        "tflite_fixed": (any_size, save_tflite(fixed, root / "fixed16.tflite")),
    }


@pytest.fixture(scope="module")
def lr():
    from skimage import data
    from srviewer.core.conventions import downscale

    return downscale(data.chelsea()[100:248, 120:236], 4).astype(np.float32) / 255   # 37x29 RGB [0, 1]


def _by_hand_bgr255_nchw(model, rgb):
    x = (rgb[..., ::-1] * 255).transpose(2, 0, 1)[None]
    y = keras_outputs(model, x)[0][0].transpose(1, 2, 0)[..., ::-1] / 255
    return np.clip(y, 0, 1)


@pytest.mark.parametrize("key", ["pb_bgr255_nchw", "sm_bgr255_nchw"])
def test_nchw_bgr_0_255_is_run_in_its_convention(made, lr, key):
    model, path = made[key]
    method = ModelMethod(key, path, channels="bgr")     # BGR stated; layout and range found
    out = method.upscale(lr)
    assert out.shape == (lr.shape[0] * 4, lr.shape[1] * 4, 3)
    np.testing.assert_allclose(out, _by_hand_bgr255_nchw(model, lr), atol=2e-4)
    side = json.loads(path.with_name(path.name.split(".")[0] + ".json").read_text())
    assert (side["layout"], side["range"], side["channels"], side["scale"]) == ("nchw", "0..255", "bgr", 4)


def test_two_head_graph_takes_the_head_of_the_comparisons_scale(made, lr):
    model, path = made["pb_heads"]
    x2, x4 = (np.clip(y[0], 0, 1) for y in keras_outputs(model, lr[None]))
    np.testing.assert_allclose(ModelMethod("heads", path).upscale(lr), x4, atol=2e-4)
    path.with_suffix(".json").unlink()                   # detect again for the x2 comparison
    np.testing.assert_allclose(ModelMethod("heads", path, scale=2).upscale(lr), x2, atol=2e-4)


def test_tf1_saved_model_runs_like_keras(made, lr):
    model, path = made["sm_tf1"]
    out = ModelMethod("tf1", path, value_range="0..1").upscale(lr)
    np.testing.assert_allclose(out, np.clip(keras_outputs(model, lr[None])[0][0], 0, 1), atol=2e-4)


def test_fixed_size_tflite_tiled_at_its_size_equals_its_twin_run_whole(made, lr):
    any_size, path = made["tflite_fixed"]
    method = ModelMethod("fixed", path, value_range="0..1", channels="rgb")
    out = method.upscale(lr)                             # 37x29 LR through 16x16 windows
    np.testing.assert_allclose(out, np.clip(keras_outputs(any_size, lr[None])[0][0], 0, 1), atol=1e-4)
    assert method.load().fixed_size == (16, 16)


def test_a_classifier_graph_is_one_line(made, lr):
    with pytest.raises(ModelFileError) as err:
        ModelMethod("cls", made["pb_classifier"][1]).upscale(lr)
    assert "not an upscale" in str(err.value) and "\n" not in str(err.value)


@needs_set5
@pytest.mark.parametrize("key", ["pb_bgr255_nchw", "sm_tf1", "sm_bgr255_nchw", "tflite_fixed"])
def test_bench_set5_with_a_model_of_each_tensorflow_format(made, key, capsys):
    from srviewer.cli import main

    path = made[key][1]
    assert main(["bench", str(SET5 / "HR"), "--methods", "bicubic", "--model", str(path), "--json"]) == 0
    methods = json.loads(capsys.readouterr().out)["methods"]
    row = methods[path.name.split(".")[0]]
    assert row["n"] == 5
    # a nearest-neighbour upscale plus a small random residual: worse than bicubic, far from noise
    assert 20 < row["psnr_y"] < methods["bicubic"]["psnr_y"]


@pytest.mark.parametrize("bad", ["truncated.pb", "corrupt.tflite", "no_saved_model", "classifier"])
def test_bad_model_files_are_one_line_exit_2(made, tmp_path, bad, capsys):
    from srviewer.cli import main

    if bad == "truncated.pb":
        data = made["pb_heads"][1].read_bytes()
        path = tmp_path / bad
        path.write_bytes(data[: len(data) // 2])
    elif bad == "corrupt.tflite":
        data = bytearray(made["tflite_fixed"][1].read_bytes())
        data[40:200] = bytes(range(160))
        path = tmp_path / bad
        path.write_bytes(bytes(data))
    elif bad == "no_saved_model":
        path = tmp_path / bad
        (path / "variables").mkdir(parents=True)
    else:
        path = made["pb_classifier"][1]
    image = tmp_path / "lr.png"
    from srviewer.core.images import write_image

    write_image(image, np.full((24, 20, 3), 128, np.uint8))
    assert main(["upscale", str(image), "--model", str(path), "--method", path.name.split(".")[0],
                 "-o", str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("srviewer: error:") and "\n" not in err and path.name in err
