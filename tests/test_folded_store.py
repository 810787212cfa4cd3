"""An sr_resnet's checked fold is kept per weights file: the next load of the same file runs it
without building the Keras model, with the same result; any change to the file is loaded anew."""

import json

import numpy as np
import pytest

import keras

from srviewer.core import folded_store, models, sr_resnet_inference
from srviewer.core.model_loading import load_predictor

KWARGS = {"num_filters": 8, "num_res_blocks": 2, "res_scale": 0.5, "bicubic_residual": True}


def _write(folder, name, factory="sr_resnet", kwargs=KWARGS, seed=0, label="tiny SRResNet"):
    """A model of `factory` with random weights (BN statistics too) as NAME.weights.h5 + NAME.json."""
    keras.utils.set_random_seed(seed)
    model = models.FACTORIES[factory](**kwargs)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, (keras.layers.BatchNormalization, keras.layers.PReLU)):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in layer.get_weights()])
    path = folder / f"{name}.weights.h5"
    model.save_weights(str(path))
    (folder / f"{name}.json").write_text(json.dumps({"factory": factory, "kwargs": kwargs, "scale": 4,
                                                     "input": "lr" if factory == "sr_resnet" else "bicubic",
                                                     "label": label}))
    return path, model


@pytest.fixture
def builds(monkeypatch, tmp_path):
    """A fresh cache folder, and the list of factories models.build was asked for."""
    monkeypatch.setenv("SRVIEWER_CACHE", str(tmp_path / "cache"))
    asked = []
    real = models.build

    def counting(spec):
        asked.append(spec["factory"])
        return real(spec)

    monkeypatch.setattr(models, "build", counting)
    return asked


def _entries(tmp_path):
    return sorted((tmp_path / "cache" / folded_store.FOLDER).glob("*.npz"))


def test_a_second_load_runs_the_kept_fold_without_keras_and_gives_the_same_result(tmp_path, builds, rng):
    path, model = _write(tmp_path, "net")
    x = rng.random((9, 7, 3), dtype=np.float32)
    first = load_predictor(path)
    assert builds == ["sr_resnet"] and len(_entries(tmp_path)) == 1
    second = load_predictor(path)
    assert builds == ["sr_resnet"]                      # not built again
    assert second.raw.keras_model is None and second.raw.folded is not None
    assert (second.scale, second.input_kind, second.label, second.params) == (4, "lr", "tiny SRResNet", model.count_params())
    y1, y2 = first(x), second(x)
    assert y2.shape == (36, 28, 3)
    np.testing.assert_array_equal(y2, y1)
    np.testing.assert_allclose(y2, np.asarray(model(x[None], training=False))[0], atol=1e-4)
    assert second.run.predict.fast_path
    # the float32 function is built once per fold: the raw model's run and the predictor share it
    assert sr_resnet_inference.fast_call(second.raw.folded) is sr_resnet_inference.fast_call(second.raw.folded)
    assert list(second.raw.folded.calls) == ["float32"]


def test_a_changed_weights_file_or_sidecar_is_loaded_and_checked_again(tmp_path, builds, rng):
    path, _ = _write(tmp_path, "net", seed=0)
    x = rng.random((8, 8, 3), dtype=np.float32)
    y0 = load_predictor(path)(x)
    _, other = _write(tmp_path, "net", seed=1)               # same name, other weights
    y1 = load_predictor(path)(x)
    assert builds == ["sr_resnet", "sr_resnet"]
    np.testing.assert_allclose(y1, np.asarray(other(x[None], training=False))[0], atol=1e-4)
    assert not np.allclose(y1, y0, atol=1e-3)
    spec = json.loads(path.with_name("net.json").read_text())
    path.with_name("net.json").write_text(json.dumps({**spec, "label": "renamed"}))
    assert load_predictor(path).label == "renamed" and builds == ["sr_resnet"] * 3
    assert len(_entries(tmp_path)) == 3


def test_a_damaged_entry_is_removed_and_the_file_loaded_the_long_way(tmp_path, builds, rng):
    path, model = _write(tmp_path, "net")
    load_predictor(path)
    (entry,) = _entries(tmp_path)
    entry.write_bytes(b"not an npz file")
    x = rng.random((6, 6, 3), dtype=np.float32)
    again = load_predictor(path)
    assert builds == ["sr_resnet", "sr_resnet"] and again.raw.keras_model is not None
    np.testing.assert_allclose(again(x), np.asarray(model(x[None], training=False))[0], atol=1e-4)
    with np.load(entry, allow_pickle=False) as data:        # written anew, whole
        assert int(data["n_blocks"]) == KWARGS["num_res_blocks"]


def test_only_sr_resnets_are_kept_and_the_store_keeps_its_newest_entries(tmp_path, builds, monkeypatch):
    path, _ = _write(tmp_path, "srcnn", factory="srcnn", kwargs={"n1": 4, "n2": 2})
    load_predictor(path)
    load_predictor(path)
    assert builds == ["srcnn", "srcnn"] and _entries(tmp_path) == []
    monkeypatch.setattr(folded_store, "MAX_ENTRIES", 2)
    for seed in range(3):
        load_predictor(_write(tmp_path, f"net{seed}", seed=seed)[0])
    assert len(_entries(tmp_path)) == 2
