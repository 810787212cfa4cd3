"""Exporting a comparison: every file written, metrics.csv = the scores, PNGs exact, manifest hashes."""

import csv
import hashlib
import json

import numpy as np
import pytest

from srviewer.core import compare as cmp
from srviewer.core.export import centre_crop
from srviewer.core.images import from_array, read_image, write_image
from srviewer.core.session import ComparisonSession

METRICS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")


def _run(registry, image, mode="reference", methods=("bicubic", "bicubic_cv")):
    session = ComparisonSession(registry, mode=mode)
    session.set_image(image)
    session.set_methods(methods)
    finished = session.run()
    assert isinstance(session.prepared, cmp.Prepared) and isinstance(finished, cmp.RunFinished)
    return session, session.prepared, finished


def _export(tmp_path, session, crop=(8, 4, 24, 20)):
    session.set_crop(crop)
    out = tmp_path / "export"
    return out, session.export(out)


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_writes_every_file_and_the_csv_holds_the_scores(tmp_path, registry, smooth_rgb):
    src = tmp_path / "in.png"
    write_image(src, smooth_rgb)
    session, prepared, finished = _run(registry, read_image(src))
    out, written = _export(tmp_path, session)

    names = {p.name for p in written}
    assert {"lr.png", "hr.png", "bicubic.png", "bicubic_cv.png", "metrics.csv", "manifest.json",
            "figure.png"} <= names
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert not [p for p in out.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]   # no temp leftovers

    with open(out / "metrics.csv", newline="") as f:
        rows = {row["method"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"bicubic", "bicubic_cv"}
    for name, result in finished.results.items():
        for key in METRICS:
            assert float(rows[name][key]) == pytest.approx(result.scores[key], abs=1e-5)
        assert float(rows[name]["seconds"]) == pytest.approx(result.seconds, abs=1e-3)
        assert float(rows[name]["crop_psnr_y"]) > 0                 # crop scores are there too
    # the two kernels really differ (the csv is not one row copied)
    assert rows["bicubic"]["psnr_y"] != rows["bicubic_cv"]["psnr_y"]


def test_exported_pngs_read_back_equal(tmp_path, registry, smooth_rgb):
    session, prepared, finished = _run(registry, from_array(smooth_rgb))
    out, _ = _export(tmp_path, session)
    np.testing.assert_array_equal(read_image(out / "hr.png").rgb, prepared.hr)
    np.testing.assert_array_equal(read_image(out / "lr.png").rgb, prepared.lr)
    for name, result in finished.results.items():
        back = read_image(out / f"{name}.png")
        assert back.rgb.shape == (48, 64, 3)
        np.testing.assert_array_equal(back.rgb, result.sr_native)
    figure = read_image(out / "figure.png").rgb
    assert figure.ndim == 3 and figure.shape[0] > 48 and figure.shape[1] > 64


def test_manifest_hashes_every_file_and_names_the_run(tmp_path, registry, smooth_rgb):
    src = tmp_path / "in.png"
    write_image(src, smooth_rgb)
    session, prepared, finished = _run(registry, read_image(src))
    out, written = _export(tmp_path, session)
    manifest = json.loads((out / "manifest.json").read_text())
    others = [p for p in written if p.name != "manifest.json"]
    assert set(manifest["files"]) == {p.name for p in others}
    for p in others:
        assert manifest["files"][p.name] == _sha(p)
    assert manifest["input_sha256"] == _sha(src)
    assert manifest["mode"] == "reference" and manifest["kernel"] == "matlab" and manifest["scale"] == 4
    assert set(manifest["methods"]) == {"bicubic", "bicubic_cv"}
    assert manifest["scores"]["bicubic"] == pytest.approx(finished.results["bicubic"].scores)
    assert "border" in manifest["convention"]


def test_blind_export_has_no_hr_and_empty_scores(tmp_path, registry, smooth_rgb):
    session, prepared, finished = _run(registry, from_array(smooth_rgb), mode="blind", methods=["bicubic"])
    out, written = _export(tmp_path, session, crop=None)
    assert "hr.png" not in {p.name for p in written} and not (out / "hr.png").exists()
    with open(out / "metrics.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["method"] == "bicubic" and all(row[k] == "" for k in METRICS)
    assert read_image(out / "bicubic.png").rgb.shape == (192, 256, 3)
    assert json.loads((out / "manifest.json").read_text())["mode"] == "blind"


def test_sixteen_bit_input_exports_sixteen_bit_pngs(tmp_path, registry, rng):
    img = (rng.random((16, 20, 3)) * 65535).astype(np.uint16)
    session, prepared, finished = _run(registry, from_array(img), methods=["bicubic"])
    out, _ = _export(tmp_path, session, crop=(0, 0, 8, 8))
    back = read_image(out / "bicubic.png")
    assert back.bit_depth == 16 and back.rgb.dtype == np.uint16
    np.testing.assert_array_equal(back.rgb, finished.results["bicubic"].sr_native)
    assert read_image(out / "hr.png").rgb.dtype == np.uint16


def _contains(big, small):
    bh, bw = small.shape[:2]
    return any(np.array_equal(big[i:i + bh, j:j + bw], small)
               for i in range(big.shape[0] - bh + 1) for j in range(big.shape[1] - bw + 1)
               if np.array_equal(big[i, j], small[0, 0]))


def test_crops_png_shows_each_method_magnified_even_without_a_crop_box(tmp_path, registry, smooth_rgb):
    session, prepared, finished = _run(registry, from_array(smooth_rgb))
    out, written = _export(tmp_path, session, crop=None)
    crops = read_image(out / "crops.png").rgb
    # every method's centre crop (and the HR's) appears magnified, nearest neighbour, in the strip
    x, y, w, h = centre_crop(prepared.hr.shape)
    for img in [prepared.hr] + [r.sr for r in finished.results.values()]:
        crop = img[y:y + h, x:x + w]
        factor = next(f for f in range(8, 0, -1) if _contains(crops, np.repeat(np.repeat(crop, f, 0), f, 1)))
        assert factor > 1
    assert (out / "figure.png") in written
    with open(out / "metrics.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert not any(h.startswith("crop_") for h in header)  # no box given: no crop scores


def test_export_onto_a_file_raises_image_write_error(tmp_path, registry, smooth_rgb):
    from srviewer.errors import ImageWriteError

    session, prepared, finished = _run(registry, from_array(smooth_rgb), methods=["bicubic"])
    (tmp_path / "export").write_text("a file, not a folder")
    with pytest.raises(ImageWriteError, match="export folder"):
        _export(tmp_path, session)
