"""Result images made elsewhere as methods: `--result` in compare and bench, sizes, pairing, manifests."""

import hashlib
import json

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srviewer.cli import main
from srviewer.core.conventions import downscale, mod_crop
from srviewer.core.images import from_float, read_image, to_float, write_image
from srviewer.core.methods import BicubicMethod
from srviewer.core.result_images import pair_results, parse_result_arg


def _photo(rng, h=50, w=66, grey=False):
    """An HxW image whose size is not a multiple of 4 (so the HR is mod-cropped), uint8."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 3.5, y * 4.5, (x + y) * 2], axis=-1) + rng.normal(0, 10, (h, w, 3))
    img = np.clip(base, 0, 255).astype(np.uint8)
    return img[..., 0] if grey else img


def _bicubic_of(hr, bit_depth=8):
    """What the bicubic method returns for this HR's MATLAB LR, at the HR's bit depth."""
    lr = downscale(mod_crop(hr, 4), 4, "matlab")
    return from_float(BicubicMethod("matlab").upscale(to_float(lr)), bit_depth)


def _compare_json(capsys, *args):
    rc = main(["compare", *map(str, args), "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


def _one_line_exit_2(capsys, argv):
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("srviewer: error:")
    return err


def test_result_equal_to_the_hr_scores_inf_and_bicubic_result_equals_the_bicubic_method(
        tmp_path, rng, capsys, empty_weights):
    hr = _photo(rng)
    write_image(tmp_path / "hr.png", hr)
    write_image(tmp_path / "same.png", mod_crop(hr, 4))
    write_image(tmp_path / "bic.png", _bicubic_of(hr))
    report = _compare_json(capsys, tmp_path / "hr.png", "--methods", "bicubic",
                           "--result", f"same={tmp_path / 'same.png'}", "--result", f"theirs={tmp_path / 'bic.png'}")
    results = report["results"]
    assert list(results) == ["bicubic", "same", "theirs"]
    assert results["same"]["scores"]["psnr_y"] is None            # inf, written as null in strict JSON
    assert results["same"]["scores"]["ssim_y"] == pytest.approx(1.0)
    assert results["theirs"]["scores"] == results["bicubic"]["scores"]   # exactly: same pixels, same scoring
    assert results["theirs"]["device"] == ""                          # nothing ran: no device
    main(["compare", str(tmp_path / "hr.png"), "--methods", "bicubic", "--result", f"same={tmp_path / 'same.png'}"])
    table = capsys.readouterr().out
    assert [line.split()[1] for line in table.splitlines() if line.startswith("same ")] == ["inf"]


def test_a_16_bit_result_is_scored_at_the_hr_bit_depth(tmp_path, rng, capsys, empty_weights):
    hr16 = (_photo(rng).astype(np.uint16) * 257 + rng.integers(0, 257, (50, 66, 3))).astype(np.uint16)
    write_image(tmp_path / "hr16.png", hr16)
    sr16 = _bicubic_of(hr16, 16)
    write_image(tmp_path / "sr16.png", sr16)
    assert read_image(tmp_path / "sr16.png").bit_depth == 16
    report = _compare_json(capsys, tmp_path / "hr16.png", "--methods", "bicubic", "--result", f"r={tmp_path / 'sr16.png'}")
    assert report["results"]["r"]["scores"] == report["results"]["bicubic"]["scores"]
    # the same 16-bit result against an 8-bit HR: scored at 8 bits, like any method's output
    hr8 = (hr16.astype(np.float64) / 257).round().astype(np.uint8)
    write_image(tmp_path / "hr8.png", hr8)
    scores = _compare_json(capsys, tmp_path / "hr8.png", "--methods", "bicubic",
                           "--result", f"r={tmp_path / 'sr16.png'}")["results"]["r"]["scores"]
    sr8 = (sr16.astype(np.float64) / 257).round().astype(np.uint8)
    ref = mod_crop(hr8, 4)
    assert scores["psnr_rgb"] == pytest.approx(peak_signal_noise_ratio(ref[4:-4, 4:-4], sr8[4:-4, 4:-4], data_range=255),
                                               abs=1e-6)


def test_a_grey_result_on_a_grey_hr_is_scored_on_its_grey_values(tmp_path, rng, capsys, empty_weights):
    hr = _photo(rng, grey=True)
    Image.fromarray(hr, "L").save(tmp_path / "hr.png")
    noisy = np.clip(mod_crop(hr, 4).astype(int) + rng.integers(-6, 7, (48, 64)), 0, 255).astype(np.uint8)
    Image.fromarray(noisy, "L").save(tmp_path / "grey.png")
    assert read_image(tmp_path / "grey.png").is_grey
    scores = _compare_json(capsys, tmp_path / "hr.png", "--methods", "bicubic",
                           "--result", f"g={tmp_path / 'grey.png'}")["results"]["g"]["scores"]
    ref, got = mod_crop(hr, 4)[4:-4, 4:-4], noisy[4:-4, 4:-4]
    assert scores["psnr_y"] == pytest.approx(peak_signal_noise_ratio(ref, got, data_range=255), abs=1e-6)
    expected_ssim = structural_similarity(ref, got, data_range=255, gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False)
    assert scores["ssim_y"] == pytest.approx(expected_ssim, abs=1e-4)
    # the grey result against a colour HR: its grey value in the three channels, scored as RGB
    colour = _photo(rng)
    colour[..., 1] = colour[..., 2] = colour[..., 0]
    colour[:48, :64, 1] = np.clip(colour[:48, :64, 0].astype(int) + 9, 0, 255)
    write_image(tmp_path / "colour.png", colour)
    Image.fromarray(colour[:48, :64, 0], "L").save(tmp_path / "grey2.png")
    scores = _compare_json(capsys, tmp_path / "colour.png", "--methods", "bicubic",
                           "--result", f"g={tmp_path / 'grey2.png'}")["results"]["g"]["scores"]
    as_rgb = np.repeat(colour[:48, :64, :1], 3, axis=2)
    assert scores["psnr_rgb"] == pytest.approx(
        peak_signal_noise_ratio(colour[4:44, 4:60], as_rgb[4:44, 4:60], data_range=255), abs=1e-6)


def test_a_wrong_size_result_is_one_line_naming_both_sizes_and_nothing_runs(tmp_path, rng, capsys, empty_weights):
    hr = _photo(rng)
    write_image(tmp_path / "hr.png", hr)
    write_image(tmp_path / "small.png", hr[:40, :60])
    write_image(tmp_path / "wide.png", np.pad(hr, ((0, 0), (0, 1), (0, 0))))     # 67x50: wider than the HR
    err = _one_line_exit_2(capsys, ["compare", tmp_path / "hr.png", "--methods", "bicubic",
                                    "--result", f"s={tmp_path / 'small.png'}", "-o", tmp_path / "out"])
    assert "60x40" in err and "66x50" in err and "64x48" in err
    assert not (tmp_path / "out").exists()
    err = _one_line_exit_2(capsys, ["compare", tmp_path / "hr.png", "--result", f"w={tmp_path / 'wide.png'}"])
    assert "67x50" in err and "66x50" in err


def test_a_result_of_the_whole_hr_size_is_cropped_to_the_mod_crop_with_a_note(tmp_path, rng, capsys, empty_weights):
    hr = _photo(rng)                                         # 66x50: the HR scored is its 64x48 mod-crop
    write_image(tmp_path / "hr.png", hr)
    write_image(tmp_path / "full.png", hr)
    write_image(tmp_path / "between.png", hr[:49, :65])
    assert main(["compare", str(tmp_path / "hr.png"), "--methods", "bicubic", "--json",
                 "--result", f"full={tmp_path / 'full.png'}", "--result", f"between={tmp_path / 'between.png'}"]) == 0
    out = capsys.readouterr()
    results = json.loads(out.out)["results"]
    assert results["full"]["scores"]["psnr_y"] is None and results["between"]["scores"]["psnr_y"] is None  # inf
    assert "66x50 cropped to the HR's mod-crop 64x48" in out.err
    assert "65x49 cropped to the HR's mod-crop 64x48" in out.err


def test_blind_mode_wants_exactly_the_lr_size_times_the_scale(tmp_path, rng, capsys, empty_weights):
    lr = _photo(rng, 13, 17)
    write_image(tmp_path / "lr.png", lr)
    write_image(tmp_path / "ok.png", np.repeat(np.repeat(lr, 4, 0), 4, 1))
    report = _compare_json(capsys, tmp_path / "lr.png", "--blind", "--methods", "bicubic",
                           "--result", f"ok={tmp_path / 'ok.png'}")
    assert report["results"]["ok"]["scores"] is None
    write_image(tmp_path / "off.png", np.zeros((53, 68, 3), np.uint8))            # 52x68 wanted
    err = _one_line_exit_2(capsys, ["compare", tmp_path / "lr.png", "--blind", "--result", f"x={tmp_path / 'off.png'}"])
    assert "68x53" in err and "68x52" in err


def test_result_arguments_name_the_problem_in_one_line(tmp_path, rng, capsys, empty_weights):
    hr = _photo(rng)
    write_image(tmp_path / "hr.png", hr)
    (tmp_path / "notes.png").write_text("not a picture")
    assert "not found" in _one_line_exit_2(capsys, ["compare", tmp_path / "hr.png", "--result", f"a={tmp_path / 'no.png'}"])
    assert "notes.png" in _one_line_exit_2(capsys, ["compare", tmp_path / "hr.png", "--result", f"a={tmp_path / 'notes.png'}"])
    assert "already exists" in _one_line_exit_2(capsys, ["compare", tmp_path / "hr.png",
                                                         "--result", f"bicubic={tmp_path / 'hr.png'}"])
    assert "is a folder" in _one_line_exit_2(capsys, ["compare", tmp_path / "hr.png", "--result", f"a={tmp_path}"])
    assert parse_result_arg("My SR=/x/y=z.png") == ("My SR", tmp_path.__class__("/x/y=z.png"))
    assert parse_result_arg("/data/a=b/out.png")[0] is None


def test_the_manifest_records_each_result_file_and_its_sha256(tmp_path, rng, capsys, empty_weights):
    hr = _photo(rng)
    write_image(tmp_path / "hr.png", hr)
    write_image(tmp_path / "theirs.png", _bicubic_of(hr))
    out = tmp_path / "export"
    assert main(["compare", str(tmp_path / "hr.png"), "--methods", "bicubic", "-o", str(out),
                 "--result", f"theirs={tmp_path / 'theirs.png'}"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["result_images"]["theirs"]
    assert entry["sha256"] == hashlib.sha256((tmp_path / "theirs.png").read_bytes()).hexdigest()
    assert entry["file"].endswith("theirs.png") and "theirs" not in manifest["weights"]
    assert manifest["methods"]["theirs"]["file"] == "theirs.png"
    np.testing.assert_array_equal(read_image(out / "theirs.png").rgb, read_image(tmp_path / "theirs.png").rgb)


# -- bench --------------------------------------------------------------------------------------
@pytest.fixture
def hr_folder(tmp_path, rng):
    folder = tmp_path / "HR"
    folder.mkdir()
    images = {}
    for i, (h, w) in enumerate([(50, 66), (48, 40), (37, 45)], start=1):
        images[f"img_00{i}"] = _photo(rng, h, w)
        write_image(folder / f"img_00{i}.png", images[f"img_00{i}"])
    return folder, images


def _bench(capsys, hr_dir, *extra):
    rc = main(["bench", str(hr_dir), "--methods", "bicubic", "--json", *map(str, extra)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out), out.err


@pytest.mark.parametrize("naming, rule", [
    (lambda stem: f"{stem}.png", "stem"),
    (lambda stem: f"{stem}_SRGAN.png", "stem + suffix"),
    (lambda stem: f"{stem}_x4_SR.png", "stem + suffix"),
    (lambda stem: f"out_{stem[-1]}.png", "sorted order"),
])
def test_bench_pairs_a_result_folder_by_each_rule_and_prints_the_pairing(tmp_path, hr_folder, capsys, empty_weights,
                                                                          naming, rule):
    hr_dir, images = hr_folder
    results = tmp_path / "theirs"
    results.mkdir()
    for stem, hr in images.items():
        write_image(results / naming(stem), _bicubic_of(hr))
    report, err = _bench(capsys, hr_dir, "--result", f"theirs={results}")
    assert f"result theirs: {results} paired by {rule}" in err
    for stem in images:
        assert f"  {stem}.png <- {naming(stem)}" in err.splitlines()
    assert report["result_pairing"]["theirs"] == [[f"{s}.png", naming(s), rule] for s in images]
    bicubic, theirs = report["methods"]["bicubic"], report["methods"]["theirs"]
    assert theirs["n"] == 3 and theirs == bicubic          # the bicubic method's own pixels: the same scores


def test_bench_pairs_the_longest_stem_and_crops_whole_hr_results(tmp_path, capsys, rng, empty_weights):
    hr_dir, results = tmp_path / "HR", tmp_path / "res"
    hr_dir.mkdir()
    results.mkdir()
    images = {"img_1": _photo(rng, 50, 66), "img_10": _photo(rng, 44, 36)}
    for stem, hr in images.items():
        write_image(hr_dir / f"{stem}.png", hr)
        write_image(results / f"{stem}_SR.png", hr)             # the whole HR, not its mod-crop
    report, err = _bench(capsys, hr_dir, "--result", f"same={results}")
    assert "  img_1.png <- img_1_SR.png" in err and "  img_10.png <- img_10_SR.png" in err
    assert "66x50 cropped to the HR's mod-crop 64x48" in err
    assert report["methods"]["same"]["psnr_y"] is None          # inf: the result is the HR


def test_bench_result_folders_that_do_not_fit_are_one_line(tmp_path, hr_folder, capsys, empty_weights):
    hr_dir, images = hr_folder
    few = tmp_path / "few"
    few.mkdir()
    write_image(few / "a.png", images["img_001"])
    err = _one_line_exit_2(capsys, ["bench", hr_dir, "--methods", "bicubic", "--result", f"few={few}"])
    assert "1 result images" in err and "3 HR images" in err and "none or several for img_001.png" in err
    assert "wants a folder" in _one_line_exit_2(capsys, ["bench", hr_dir, "--methods", "bicubic", "--result", f"one={hr_dir / 'img_001.png'}"])
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    for stem, hr in images.items():
        write_image(wrong / f"{stem}.png", hr[:20, :20])
    err = _one_line_exit_2(capsys, ["bench", hr_dir, "--methods", "bicubic", "--result", f"wrong={wrong}"])
    assert "20x20" in err and "66x50" in err


def test_pair_results_prefers_the_stem_then_the_suffix_per_hr_file(tmp_path):
    hr = [tmp_path / "HR" / n for n in ("a.png", "b.png", "c.png")]
    res = [tmp_path / "R" / n for n in ("a.png", "b_sr.png", "c-x4.png", "readme.png")]
    pairing = pair_results(hr, res)
    assert [(h.name, r.name, rule) for h, r, rule in pairing.pairs] == [
        ("a.png", "a.png", "stem"), ("b.png", "b_sr.png", "stem + suffix"), ("c.png", "c-x4.png", "stem + suffix")]
    assert [p.name for p in pairing.unused] == ["readme.png"]
    two = [tmp_path / "R" / n for n in ("a_1.png", "a_2.png", "b.png")]       # two for a: sorted order
    assert [rule for _h, _r, rule in pair_results(hr, two).pairs] == ["sorted order"] * 3
