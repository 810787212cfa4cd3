"""Tiled inference equals whole-image inference; cancel, progress; OOM retry."""

import numpy as np
import pytest

from srviewer.core.cancel import CancelToken
from srviewer.core.oom import run_with_oom_retry
from srviewer.core.tiling import plan_tiles, plan_tiles_within, run_tiled, tile_for_budget
from srviewer.errors import Cancelled, OutOfMemoryError


@pytest.mark.parametrize("h,w,tile,overlap", [(50, 37, 16, 4), (10, 10, 32, 8), (33, 64, 20, 6)])
def test_plan_tiles_cover_the_image_once(h, w, tile, overlap):
    tiles = plan_tiles(h, w, tile, overlap)
    cover = np.zeros((h, w), int)
    for t in tiles:
        assert t.y1 - t.y0 <= tile and t.x1 - t.x0 <= tile
        assert 0 <= t.py0 <= t.y0 < t.y1 <= t.py1 <= h and 0 <= t.px0 <= t.x0 < t.x1 <= t.px1 <= w
        assert t.y0 - t.py0 == min(overlap, t.y0) and t.py1 - t.y1 == min(overlap, h - t.y1)
        cover[t.y0:t.y1, t.x0:t.x1] += 1
    assert np.all(cover == 1)


def _work(tiles):
    return sum((t.py1 - t.py0) * (t.px1 - t.px0) for t in tiles)


def test_budget_planner_prefers_strips_to_squares_when_they_cost_less():
    square = plan_tiles(339, 510, tile_for_budget(320 * 320, 16), 16)       # 2x2 of 288-px cores
    tiles = plan_tiles_within(339, 510, 320 * 320, 16)
    assert len(square) == 4 and len(tiles) == 2
    assert all(t.y0 == 0 and t.y1 == 339 for t in tiles)                      # full-height columns
    assert all((t.py1 - t.py0) * (t.px1 - t.px0) <= 320 * 320 for t in tiles)
    assert _work(tiles) / (339 * 510) < 1.07 < 1.15 < _work(square) / (339 * 510)


def test_budget_planner_uses_one_tile_when_the_image_fits():
    tiles = plan_tiles_within(100, 90, 100 * 90, 16)
    assert len(tiles) == 1 and (tiles[0].py0, tiles[0].py1, tiles[0].px0, tiles[0].px1) == (0, 100, 0, 90)


@pytest.mark.parametrize("h,w,budget,overlap", [(50, 37, 30 * 30, 4), (1200, 900, 320 * 320, 16),
                                                (7, 300, 40 * 40, 16), (33, 64, 5, 6)])
def test_budget_planner_covers_once_within_budget_and_never_costs_more_than_squares(h, w, budget, overlap):
    tiles = plan_tiles_within(h, w, budget, overlap)
    cover = np.zeros((h, w), int)
    for t in tiles:
        assert 0 <= t.py0 <= t.y0 < t.y1 <= t.py1 <= h and 0 <= t.px0 <= t.x0 < t.x1 <= t.px1 <= w
        cover[t.y0:t.y1, t.x0:t.x1] += 1
    assert np.all(cover == 1)
    side = tile_for_budget(budget, overlap)
    if (side + 2 * overlap) ** 2 <= budget:          # a square grid fits the budget: the planner's is no worse
        assert all((t.py1 - t.py0) * (t.px1 - t.px0) <= budget for t in tiles)
        assert _work(tiles) <= _work(plan_tiles(h, w, side, overlap))


def test_run_tiled_within_a_budget_equals_the_untiled_result(rng):
    x = rng.random((37, 53, 3)).astype(np.float32)
    out = run_tiled(_nearest_x2_plus_local, x, scale=2, overlap=4, max_pixels=20 * 24)
    np.testing.assert_allclose(out, _nearest_x2_plus_local(x), atol=1e-5)


def test_tile_for_budget_respects_the_budget():
    side = tile_for_budget(200 * 200, overlap=16)
    assert (side + 32) ** 2 <= 200 * 200


def _nearest_x2_plus_local(x):
    """A position-independent op with a 3x3 receptive field: blur then nearest x2."""
    p = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="edge")
    blur = sum(p[dy:dy + x.shape[0], dx:dx + x.shape[1]] for dy in range(3) for dx in range(3)) / 9
    return blur.repeat(2, 0).repeat(2, 1)


def test_weights_sum_to_one_so_a_pointwise_fn_is_exact(rng):
    x = rng.random((41, 29, 3)).astype(np.float32)
    out = run_tiled(lambda t: t.repeat(3, 0).repeat(3, 1), x, scale=3, tile=12, overlap=4)
    np.testing.assert_allclose(out, x.repeat(3, 0).repeat(3, 1), atol=1e-6)


def test_tiled_equals_untiled_for_a_local_op_away_from_the_image_border(rng):
    x = rng.random((30, 26, 3)).astype(np.float32)
    out = run_tiled(_nearest_x2_plus_local, x, scale=2, tile=8, overlap=4)
    np.testing.assert_allclose(out, _nearest_x2_plus_local(x), atol=1e-6)


def test_tiled_sr_resnet_matches_whole_image(rng):
    from srviewer.core import models, tf_runtime

    tf_runtime.tf().random.set_seed(0)
    # receptive field: 9x9 head + 2 blocks of 3x3 convs + body conv -> +-9 LR px, plus the
    # 3x3 convs and 9x9 tail at HR (+-2 LR px): under the 16 px overlap
    model = models.sr_resnet(num_filters=8, num_res_blocks=2, batch_norm=False, bicubic_residual=True)
    predict = tf_runtime.make_predictor(model, jit_compile=False)
    x = rng.random((40, 44, 3)).astype(np.float32)
    whole = predict(x[None])[0]
    fractions = []
    tiled = run_tiled(lambda t: predict(t[None])[0], x, scale=4, tile=20, overlap=16, progress=fractions.append)
    assert tiled.shape == whole.shape == (160, 176, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-4)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == 2 * 3


def test_cancel_is_checked_between_tiles(rng):
    x = rng.random((40, 40, 3)).astype(np.float32)
    token, calls = CancelToken(), []

    def fn(t):
        calls.append(t.shape)
        if len(calls) == 2:
            token.cancel()
        return t.repeat(2, 0).repeat(2, 1)

    with pytest.raises(Cancelled):
        run_tiled(fn, x, scale=2, tile=10, overlap=2, cancel=token)
    assert len(calls) == 2


def test_wrong_tile_output_size_is_an_error(rng):
    with pytest.raises(ValueError, match="not 4x"):
        run_tiled(lambda t: t.repeat(2, 0).repeat(2, 1), rng.random((8, 8, 3)), scale=4, tile=8)


def test_oom_retry_goes_smaller_then_gives_up():
    tried = []

    def fn(tile):
        tried.append(tile)
        if tile > 64:
            raise RuntimeError("OOM when allocating tensor with shape[1,64,1024,1024]")
        return tile

    assert run_with_oom_retry(fn, [256, 128, 64, 32]) == 64
    assert tried == [256, 128, 64]

    def always(tile):
        raise MemoryError()

    with pytest.raises(OutOfMemoryError, match="even with 32x32 tiles"):
        run_with_oom_retry(always, [64, 32])

    def broken(tile):
        raise ValueError("not memory")

    with pytest.raises(ValueError):
        run_with_oom_retry(broken, [64, 32])
