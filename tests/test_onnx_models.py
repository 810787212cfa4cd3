"""ONNX models through the seam: conventions detected, overrides and sidecars winning, the output
equal to running the model by hand (onnxruntime directly, the convention applied here with
scikit-image's BT.601), tiled equal to untiled, bad files refused with one line."""

import json
import os

import numpy as np
import onnx_models   # tests/onnx_models.py: builds the models with the onnx package (a test dependency)
import onnxruntime as ort
import pytest
from skimage.color import rgb2ycbcr, ycbcr2rgb

from srviewer.cli import main
from srviewer.core import methods
from srviewer.core.conventions import upscale_bicubic
from srviewer.core.formats import LoadOptions
from srviewer.core.model_loading import load_predictor
from srviewer.errors import ModelFileError



def _by_hand(path, lr, layout="nchw", channels="rgb", value_range="0..1", head=0, crop=None, bicubic_input=False):
    """Run the file with onnxruntime as its convention says: lr HxWx3 RGB [0,1] -> RGB [0,1]."""
    if bicubic_input:                       # the model is fed the bicubic upscale and keeps its size
        lr = upscale_bicubic(lr, 4, "matlab")
    lo, hi = {"0..1": (0, 1), "0..255": (0, 255), "-1..1": (-1, 1)}[value_range]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if channels == "y":
        x = (rgb2ycbcr(lr)[..., :1] / 255.0)
    else:
        x = lr[..., ::-1] if channels == "bgr" else lr
    x = (x * (hi - lo) + lo)[None].astype(np.float32)
    if layout == "nchw":
        x = x.transpose(0, 3, 1, 2)
    y = session.run(None, {session.get_inputs()[0].name: x})[head][0].astype(np.float64)
    if layout == "nchw":
        y = y.transpose(1, 2, 0)
    if crop:
        y = y[crop[0]:crop[0] + lr.shape[0] * 4, crop[1]:crop[1] + lr.shape[1] * 4]
    y = y[:lr.shape[0] * (1 if bicubic_input else 4), :lr.shape[1] * (1 if bicubic_input else 4)]
    y = (y - lo) / (hi - lo)
    if channels == "y":
        ycc = rgb2ycbcr(lr if bicubic_input else upscale_bicubic(lr, 4, "matlab"))
        ycc[..., 0] = y[..., 0] * 255.0
        return np.clip(ycbcr2rgb(ycc), 0, 1)
    return np.clip(y[..., ::-1] if channels == "bgr" else y, 0, 1)


CASES = {   # name: (build kwargs, expected convention, how to run it by hand)
    "bgr_0_255": (dict(bgr=True, value_range="0..255"), dict(channels="bgr", range="0..255"),
                  dict(channels="bgr", value_range="0..255")),
    "luma": (dict(channels=1), dict(channels="y", range="0..1"), dict(channels="y")),
    "nhwc": (dict(layout="nhwc", bgr=True), dict(layout="nhwc", channels="bgr"), dict(layout="nhwc", channels="bgr")),
    "off_by_2": (dict(pad=2), dict(trim="centre"), dict(crop=(1, 1))),
    "off_by_2_at_end": (dict(pad=2, pad_where="end"), dict(trim="end"), dict(crop=(0, 0))),
    "two_heads": (dict(scales=(2, 4)), dict(output=1, scale=4), dict(head=1)),
    "minus1_1": (dict(value_range="-1..1"), dict(range="-1..1"), dict(value_range="-1..1")),
    "bicubic_input": (dict(scales=(1,)), dict(input_kind="bicubic", scale=4), dict(bicubic_input=True)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_detection_picks_the_convention_and_the_output_equals_running_it_by_hand(tmp_path, rng, name):
    build, expected, by_hand = CASES[name]
    path = onnx_models.build(tmp_path / f"{name}.onnx", **build)
    method = methods.MethodRegistry().add_model_file(path)
    conv = method._loaded.convention
    for field, value in expected.items():
        assert getattr(conv, field) == value, (field, conv.evidence)
    assert method.scale == 4 and method.device_description().startswith("CPU (onnxruntime")
    lr = rng.random((23, 31, 3)).astype(np.float32) * 0.6 + 0.3 * np.linspace(0, 1, 31)[None, :, None]
    lr[..., 2] *= 0.5                       # blue under red, as in the photos a BGR model was made for
    whole = method.upscale(lr)
    np.testing.assert_allclose(whole, _by_hand(path, lr, **by_hand), atol=2e-4)
    method.tile = 8                         # tiles of (8 + 2 * overlap)^2 LR pixels: several here
    np.testing.assert_allclose(method.upscale(lr), whole, atol=1e-5)
    sidecar = json.loads((tmp_path / f"{name}.json").read_text())
    assert sidecar["model_format"] == "onnx" and sidecar["channels"] == conv.channels and sidecar["evidence"]


def test_a_fixed_size_model_is_tiled_at_exactly_its_size(tmp_path, rng):
    fixed = onnx_models.build(tmp_path / "fixed.onnx", fixed=(32, 32), value_range="0..255")
    free = onnx_models.build(tmp_path / "free.onnx", value_range="0..255")
    method = methods.MethodRegistry().add_model_file(fixed)
    assert method._loaded.fixed_size == (32, 32) and method._loaded.convention.range == "0..255"
    seen, real = [], method._loaded.run
    method._loaded.run = lambda x: (seen.append(x.shape), real(x))[1]
    lr = rng.random((70, 45, 3)).astype(np.float32)
    out = method.upscale(lr)
    assert set(seen) == {(1, 3, 32, 32)} and len(seen) >= 6
    np.testing.assert_allclose(out, _by_hand(free, lr, value_range="0..255"), atol=2e-4)


def test_a_rgb_bgr_tie_is_reported_and_overrides_and_the_sidecar_win(tmp_path, rng):
    path = onnx_models.build(tmp_path / "plain.onnx")          # nothing in it tells RGB from BGR
    predictor = load_predictor(path, LoadOptions(scale=4))
    assert predictor.convention.channels == "rgb" and "NEAR-TIE" in predictor.convention.evidence["channels"]
    sidecar = tmp_path / "plain.json"
    assert json.loads(sidecar.read_text())["channels"] == "rgb"
    lr = rng.random((12, 10, 3)).astype(np.float32)
    # an override wins over the sidecar and the detection
    forced = methods.MethodRegistry().add_model_file(path, channels="bgr", value_range="-1..1")
    assert (forced._loaded.convention.channels, forced._loaded.convention.range) == ("bgr", "-1..1")
    assert forced._loaded.convention.evidence["channels"] == "override: bgr"
    np.testing.assert_allclose(forced.upscale(lr), _by_hand(path, lr, channels="bgr", value_range="-1..1"), atol=2e-4)
    # an edited sidecar wins over the detection
    spec = json.loads(sidecar.read_text())
    spec["range"] = "0..255"
    sidecar.write_text(json.dumps(spec))
    edited = methods.MethodRegistry().add_model_file(path)
    assert edited._loaded.convention.range == "0..255"
    assert edited._loaded.convention.evidence["range"].startswith("sidecar: 0..255")


def test_a_x2_model_in_a_x4_comparison_is_one_line_or_repeated(tmp_path, rng):
    path = onnx_models.build(tmp_path / "x2.onnx", scales=(2,))
    with pytest.raises(ModelFileError, match=r"x2\.onnx: the model is x2, the comparison is x4; pass --model-repeat 2"):
        methods.MethodRegistry().add_model_file(path)
    method = methods.MethodRegistry().add_model_file(path, repeat=2)
    assert method.scale == 4
    lr = rng.random((9, 11, 3)).astype(np.float32)
    once = methods.MethodRegistry().add_model_file(path, scale=2)
    np.testing.assert_allclose(method.upscale(lr), once.upscale(once.upscale(lr)), atol=1e-6)
    assert method.upscale(lr).shape == (36, 44, 3)


def _truncated(folder):
    good = onnx_models.build(folder / "good.onnx").read_bytes()
    (folder / "truncated.onnx").write_bytes(good[: len(good) // 2])
    return folder / "truncated.onnx"


def _outside_data(folder):
    import onnx
    from onnx import TensorProto

    (folder / "secret.bin").write_bytes(np.ones(27, np.float32).tobytes())
    (folder / "model").mkdir()
    model = onnx.load(str(onnx_models.build(folder / "ext.onnx")))
    tensor = next(t for t in model.graph.initializer if t.name == "smooth")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../secret.bin"
    path = folder / "model" / "ext.onnx"
    path.write_bytes(model.SerializeToString())
    return path


BAD = {
    "truncated": (_truncated, "not a readable ONNX model"),
    "classifier": (lambda d: onnx_models.build_other(d / "classifier.onnx", "classifier"), r"to \(1, 3\): not an upscale"),
    "one value": (lambda d: onnx_models.build_other(d / "scalar.onnx", "scalar"), r"to \(\): not an upscale"),
    "unsupported operator": (lambda d: onnx_models.build_other(d / "custom.onnx", "custom_op"), "operator com.example:MagicUpscale, which onnxruntime cannot run"),
    "external data outside": (_outside_data, "external data must stay inside the model's folder"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_onnx_files_are_one_line_and_exit_2(tmp_path, capsys, kind):
    make, message = BAD[kind]
    path = make(tmp_path)
    code = main(["models", "inspect", str(path)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("srviewer")]
    assert code == 2 and len(lines) == 1, err
    assert __import__("re").search(message, lines[0]), lines[0]


def test_models_inspect_prints_the_convention_and_its_evidence(tmp_path, capsys):
    path = onnx_models.build(tmp_path / "bgr.onnx", bgr=True, value_range="0..255", fixed=(40, 48))
    assert main(["models", "inspect", str(path)]) == 0
    out = capsys.readouterr().out
    for line in ("format:      onnx", "scale:       x4", "layout:      NCHW", "channels:    BGR", "range:       0..255",
                 "fixed size:  48x40", "parameters:  37"):   # 27 weights + 10 constants
        assert line in out, out
    assert "channels: ran each: bgr" in out and "range: ran each: 0..255" in out


def test_bench_on_set5_with_an_onnx_model(tmp_path, capsys):
    from conftest import SET5

    path = onnx_models.build(tmp_path / "bicubic_like.onnx")
    assert main(["bench", str(SET5 / "HR"), "--model", str(path), "--methods", "bicubic", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["methods"]
    assert summary["bicubic_like"]["n"] == 5
    # a slightly smoothed bicubic: near bicubic's 28.4 dB, a little under it
    assert summary["bicubic"]["psnr_y"] - 1.0 < summary["bicubic_like"]["psnr_y"] < summary["bicubic"]["psnr_y"]


def test_compare_export_records_the_model_file_its_format_and_convention(tmp_path, capsys):
    import hashlib

    from srviewer.core.images import sample_image, write_image

    path = onnx_models.build(tmp_path / "theirs.onnx", bgr=True, value_range="0..255")
    write_image(tmp_path / "photo.png", sample_image().rgb[80:176, 120:248])
    assert main(["compare", str(tmp_path / "photo.png"), "--methods", "bicubic", "--model", str(path),
                 "-o", str(tmp_path / "out")]) == 0
    entry = json.loads((tmp_path / "out" / "manifest.json").read_text())["weights"]["theirs"]
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and entry["format"] == "onnx"
    assert (entry["convention"]["channels"], entry["convention"]["range"]) == ("bgr", "0..255")


def test_an_onnx_model_retries_smaller_tiles_on_out_of_memory_and_cancels(tmp_path, rng):
    from srviewer.core.cancel import CancelToken
    from srviewer.errors import Cancelled

    method = methods.MethodRegistry().add_model_file(onnx_models.build(tmp_path / "m.onnx", layout="nhwc"))
    lr = rng.random((90, 70, 3)).astype(np.float32)
    whole = method.upscale(lr)
    seen, real = [], method._loaded.run

    def tight(x):                     # runs out of memory above 60 LR pixels a side
        seen.append(max(x.shape[1:3]))
        if seen[-1] > 60:
            raise MemoryError("Unable to allocate")
        return real(x)

    method._loaded.run = tight
    np.testing.assert_allclose(method.upscale(lr), whole, atol=1e-5)
    assert max(seen) > 60 and seen[-1] <= 60
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        method.upscale(lr, cancel=token)


def test_an_onnx_model_runs_in_the_model_process(tmp_path, rng, model_process):
    path = onnx_models.build(tmp_path / "m.onnx", bgr=True, value_range="0..255")
    method = methods.MethodRegistry(process=model_process).add_model_file(path)
    assert method.process is model_process and model_process.pid not in (None, os.getpid())
    assert method._loaded.format == "onnx" and method._loaded.convention["channels"] == "bgr"
    assert method.device_description().startswith("CPU (onnxruntime")
    lr = rng.random((20, 18, 3)).astype(np.float32)
    lr[..., 2] *= 0.5
    fractions = []
    out = method.upscale(lr, progress=fractions.append)
    np.testing.assert_allclose(out, _by_hand(path, lr, channels="bgr", value_range="0..255"), atol=2e-4)
    assert fractions and fractions[-1] == 1.0


def test_the_tile_overlap_follows_the_receptive_field(tmp_path, rng):
    path = onnx_models.build(tmp_path / "wide.onnx", convs=12, centre=0.2)    # a wide, slowly fading reach
    narrow = methods.MethodRegistry().add_model_file(onnx_models.build(tmp_path / "narrow.onnx"))
    method = methods.MethodRegistry().add_model_file(path)
    assert method._loaded.overlap > narrow._loaded.overlap
    assert "receptive radius" in method._loaded.convention.evidence["overlap"]
    lr = rng.random((70, 64, 3)).astype(np.float32)
    whole = method.upscale(lr)
    method.tile = narrow.tile = 8                       # many tiles, each needing its full context
    np.testing.assert_allclose(method.upscale(lr), whole, atol=1e-5)
    spec = json.loads((tmp_path / "wide.json").read_text())
    spec["overlap"] = narrow._loaded.overlap             # the narrow model's overlap is too little here
    (tmp_path / "wide.json").write_text(json.dumps(spec))
    short = methods.MethodRegistry().add_model_file(path)
    short.tile = 8
    assert np.abs(short.upscale(lr) - whole).max() > 1e-4


def test_a_sidecar_names_the_format_of_an_unknown_suffix_and_is_not_used_for_another_format(tmp_path):
    import shutil

    path = onnx_models.build(tmp_path / "m.onnx")
    load_predictor(path, LoadOptions(scale=4))                  # writes m.json with model_format "onnx"
    renamed = tmp_path / "m.model"
    shutil.copy(path, renamed)                                 # an unknown suffix: the sidecar names the loader
    assert load_predictor(renamed, LoadOptions(scale=4)).format == "onnx"
    (tmp_path / "m.keras").write_bytes(b"PK not really")     # a Keras file sharing m.json: it is not used for it
    with pytest.raises(ModelFileError, match="m.keras: not a readable .keras file"):
        load_predictor(tmp_path / "m.keras", LoadOptions(scale=4))
    assert json.loads((tmp_path / "m.json").read_text())["model_format"] == "onnx"
