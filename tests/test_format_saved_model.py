"""SavedModel folders (TF 2 and TF 1 style): built from Keras in the test, loaded and run exactly."""

import numpy as np
import pytest

from srviewer.core.formats import LoadOptions, format_for, saved_model, tf_graph
from srviewer.errors import ModelFileError
from tf_format_models import (assert_refused_writing_nothing, export_saved_model, keras_outputs, probe_input,
                              save_saved_model, save_tf1_saved_model, sr_model)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    import tensorflow as tf

    root = tmp_path_factory.mktemp("sm")
    target = root / "written_by_the_model.txt"
    plain = sr_model(scales=(2,))
    nchw = sr_model(scales=(2,), layout="nchw", bgr=True, value_max=255.0, seed=3)
    heads = sr_model(scales=(2, 4), seed=5)
    return {
        "saved": (plain, save_saved_model(plain, root / "saved")),
        "exported": (nchw, export_saved_model(nchw, root / "exported")),
        "two_heads": (heads, save_saved_model(heads, root / "two_heads")),
        "tf1": (plain, save_tf1_saved_model(plain, root / "tf1")),
        "tf1_state": (plain, save_tf1_saved_model(plain, root / "tf1_state", input_shaped_state=True)),
        "writes": (plain, save_saved_model(plain, root / "writes",
                                           extra=lambda x: tf.io.write_file(str(target), "pwned"))),
        "target": (None, target),
    }


def _check_runs_like(raw, model, shape, value_max=1.0, atol=1e-5):
    x = probe_input(shape) * value_max
    ys = raw.run(x)
    refs = keras_outputs(model, x)
    assert len(ys) == len(refs)
    for y, ref in zip(ys, refs):
        np.testing.assert_allclose(y, ref, atol=atol)
    return ys


def test_saved_model_runs_its_serving_default_exactly(folders):
    model, folder = folders["saved"]
    assert format_for(folder) is saved_model.FORMAT
    raw = saved_model.load(folder, LoadOptions())
    assert raw.format == "saved_model" and raw.inputs[0].shape == (None, None, None, 3)
    assert raw.inputs[0].dtype == "float32" and raw.params == model.count_params()
    (y,) = _check_runs_like(raw, model, (1, 9, 6, 3))
    assert y.shape == (1, 18, 12, 3)


def test_keras_export_in_nchw_bgr_0_255_keeps_its_layout(folders):
    model, folder = folders["exported"]
    raw = saved_model.load(folder, LoadOptions())
    assert raw.inputs[0].shape == (None, 3, None, None)
    _check_runs_like(raw, model, (1, 3, 7, 8), value_max=255.0, atol=1e-3)


def test_two_heads_are_reported_in_key_order(folders):
    model, folder = folders["two_heads"]
    raw = saved_model.load(folder, LoadOptions())
    assert [o.name for o in raw.outputs] == ["output_0", "output_1"]
    ys = _check_runs_like(raw, model, (1, 5, 6, 3))
    assert [y.shape for y in ys] == [(1, 10, 12, 3), (1, 20, 24, 3)]


def test_tf1_saved_model_loads_and_runs_like_keras(folders):
    model, folder = folders["tf1"]
    raw = saved_model.load(folder, LoadOptions())
    assert [o.name for o in raw.outputs] == ["sr"]
    assert not any("TensorFlow 1's loader" in n for n in raw.notes)      # tf.saved_model.load could
    assert raw.params == model.count_params()                            # read from the checkpoint
    _check_runs_like(raw, model, (1, 8, 5, 3))


def test_tf1_saved_model_that_tf_saved_model_load_cannot_restore_uses_the_tf1_loader(folders):
    import tensorflow as tf

    model, folder = folders["tf1_state"]
    with pytest.raises(Exception, match="placeholder"):      # the case: TF 2's loader fails on it
        tf.saved_model.load(str(folder))
    raw = saved_model.load(folder, LoadOptions())
    assert any("TensorFlow 1's loader" in n for n in raw.notes)
    assert raw.params == model.count_params()
    _check_runs_like(raw, model, (1, 6, 7, 3))


def test_the_saved_model_pb_file_itself_loads_its_folder(folders):
    model, folder = folders["saved"]
    assert format_for(folder / "saved_model.pb") is tf_graph.FORMAT
    raw = tf_graph.FORMAT.load(folder / "saved_model.pb", LoadOptions())
    assert raw.format == "saved_model"
    _check_runs_like(raw, model, (1, 4, 4, 3))


def test_a_saved_model_that_writes_a_file_is_refused_and_nothing_is_written(folders):
    model, folder = folders["writes"]
    target = folders["target"][1]
    assert_refused_writing_nothing(lambda: saved_model.load(folder, LoadOptions()), "WriteFile", target)
    raw = saved_model.load(folder, LoadOptions(trust_code=True))
    assert not target.exists()                     # loading runs nothing of it
    _check_runs_like(raw, model, (1, 4, 4, 3))
    assert target.read_text() == "pwned"


def test_a_folder_without_saved_model_pb_is_one_line(tmp_path):
    (tmp_path / "variables").mkdir()
    with pytest.raises(ModelFileError, match="no saved_model.pb") as err:
        saved_model.load(tmp_path, LoadOptions())
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_corrupt_saved_model_pb_is_one_line(folders, tmp_path, damage):
    data = (folders["saved"][1] / "saved_model.pb").read_bytes()
    (tmp_path / "variables").mkdir()
    (tmp_path / "saved_model.pb").write_bytes(data[: len(data) // 3] if damage == "truncated" else bytes(range(256)) * 9)
    with pytest.raises(ModelFileError) as err:
        saved_model.load(tmp_path, LoadOptions())
    assert tmp_path.name in str(err.value) and "\n" not in str(err.value)


def test_missing_variables_are_one_line(folders, tmp_path):
    import shutil

    copy = tmp_path / "novars"
    shutil.copytree(folders["saved"][1], copy)
    shutil.rmtree(copy / "variables")
    with pytest.raises(ModelFileError, match="cannot load the SavedModel") as err:
        saved_model.load(copy, LoadOptions())
    assert "\n" not in str(err.value) and "either loader" not in str(err.value)   # a TF 2 one: no TF 1 retry
