"""The model-format registry (core/formats): lookup by path, the file filter and help built from it,
and Keras through the seam (a fixed input size is tiled at exactly that size)."""

import subprocess
import sys

import numpy as np
import pytest

from srviewer.core import formats, methods
from srviewer.errors import ModelFileError


def test_registry_lists_keras_and_finds_formats_by_path(tmp_path):
    names = [f.name for f in formats.formats()]
    assert names[0] == "keras" and len(names) == len(set(names))
    for name in ("m.keras", "m.h5", "m.weights.h5", "M.KERAS"):
        (tmp_path / name).write_bytes(b"x")
        assert formats.format_for(tmp_path / name).name == "keras"
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelFileError, match=r"notes.txt: not a model file srviewer knows \(known: Keras"):
        formats.format_for(tmp_path / "notes.txt")
    with pytest.raises(ModelFileError, match="no such model"):
        formats.format_for(tmp_path / "absent.onnx")


def test_file_filter_and_help_come_from_the_registry():
    flt = formats.file_dialog_filter()
    for fmt in formats.formats():
        assert fmt.label in formats.help_text()
        for suffix in fmt.suffixes:
            if not fmt.folder:
                assert f"*{suffix}" in flt.split(";;")[0]
    assert flt.endswith("All files (*)")


def test_listing_formats_imports_no_runtime():
    code = ("import sys; from srviewer.core import formats; formats.formats(); formats.file_dialog_filter(); "
            "bad = [m for m in ('tensorflow', 'keras', 'onnxruntime', 'onnx') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_fixed_size_keras_model_is_tiled_at_exactly_its_size(tmp_path, rng):
    import keras
    from srviewer.core.layers import PixelShuffle

    def build(shape):
        inp = keras.Input(shape)
        x = keras.layers.Conv2D(12, 3, padding="same", kernel_initializer=keras.initializers.RandomNormal(0, 0.2, seed=1),
                                bias_initializer=keras.initializers.Constant(0.1))(inp)
        return keras.Model(inp, PixelShuffle(2)(x))

    fixed = build((24, 24, 3))
    fixed.save(tmp_path / "fixed.keras")
    free = build((None, None, 3))
    free.set_weights(fixed.get_weights())
    method = methods.MethodRegistry().add_model_file(tmp_path / "fixed.keras", scale=2)
    method.jit_compile = False
    sizes = []
    real = method._loaded.run
    method._loaded.run = lambda x: (sizes.append(x.shape[1:3]), real(x))[1]
    lr = rng.random((50, 37, 3)).astype(np.float32)          # larger than 24x24 and not a multiple of it
    out = method.upscale(lr)
    assert set(sizes) == {(24, 24)} and len(sizes) > 4
    np.testing.assert_allclose(out, np.clip(np.asarray(free(lr[None]))[0], 0, 1), atol=1e-5)
    small = rng.random((10, 13, 3)).astype(np.float32)       # smaller than the window: padded at the far edges
    got, want = method.upscale(small), np.clip(np.asarray(free(small[None]))[0], 0, 1)
    assert got.shape == (20, 26, 3)      # the padding (repeated pixels) reaches only the last LR row and column
    np.testing.assert_allclose(got[:-2, :-2], want[:-2, :-2], atol=1e-5)


def test_bench_on_set5_with_a_keras_model_file(tmp_path, capsys):
    import json

    import keras

    from conftest import SET5
    from srviewer.cli import main

    inp = keras.Input((None, None, 3))
    keras.Model(inp, keras.layers.UpSampling2D(4)(inp)).save(tmp_path / "nearest.keras")
    assert main(["bench", str(SET5 / "HR"), "--model", str(tmp_path / "nearest.keras"), "--methods", "bicubic",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["methods"]
    assert summary["nearest"]["n"] == 5       # nearest neighbour: a few dB under bicubic on Set5
    assert summary["bicubic"]["psnr_y"] - 4 < summary["nearest"]["psnr_y"] < summary["bicubic"]["psnr_y"]


def test_a_model_folder_is_hashed_by_its_files_for_the_manifest(tmp_path):
    from srviewer.core.export import _sha256

    folder = tmp_path / "saved"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "variables.index").write_bytes(b"index")
    first = _sha256(folder)
    assert len(first) == 64 and _sha256(folder) == first
    (folder / "variables" / "variables.index").write_bytes(b"index2")
    assert _sha256(folder) != first
