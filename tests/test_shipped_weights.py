"""The shipped weights/ files score on Set5 what their model cards say (to 0.01 dB).

The figures are read from each card's "**NAME (this file)**" row and the card's own bench
command (folder, kernel), never written here: the weights are retrained from time to time.
"""

import re
import shlex
from pathlib import Path

import pytest

from conftest import REPO, needs_set5
from srviewer.core.bench import bench
from srviewer.core.methods import default_registry

WEIGHTS = REPO / "weights"
ROW = re.compile(r"^\|\s*\*\*(?P<name>[\w.-]+) \(this file\)\*\*\s*\|\s*(?P<psnr>[\d.]+)\s*\|\s*(?P<ssim>[\d.]+)\s*\|", re.M)
COMMAND = re.compile(r"`srviewer bench ([^`]+)`")


def _cards() -> list[Path]:
    return sorted(p.with_suffix("").with_suffix(".md") for p in WEIGHTS.glob("*.weights.h5"))


def test_every_shipped_weights_file_has_a_card_with_its_scores():
    cards = _cards()
    assert cards, f"no *.weights.h5 in {WEIGHTS}"
    for card in cards:
        text = card.read_text(encoding="utf-8")
        row = ROW.search(text)
        assert row and row["name"] == card.stem, f"{card.name}: no '**{card.stem} (this file)**' scores row"
        assert COMMAND.search(text), f"{card.name}: does not say which bench command measured it"


def _card_claim(card: Path):
    text = card.read_text(encoding="utf-8")
    row, command = ROW.search(text), shlex.split(COMMAND.search(text)[1])
    kernel = command[command.index("--kernel") + 1] if "--kernel" in command else "matlab"
    lr_dir = command[command.index("--lr-dir") + 1] if "--lr-dir" in command else None
    folder = (REPO / command[0]).resolve()          # the card's folder, relative to the repository
    return float(row["psnr"]), float(row["ssim"]), folder, kernel, lr_dir and (REPO / lr_dir).resolve()


@needs_set5
@pytest.mark.slow
@pytest.mark.parametrize("card", _cards(), ids=lambda p: p.stem)
def test_shipped_weights_score_what_their_card_says_on_set5(card):
    psnr_y, ssim_y, folder, kernel, lr_dir = _card_claim(card)
    assert folder.is_dir(), f"{card.name} names {folder}, which is not here"
    registry = default_registry(weights_dir=WEIGHTS, kernel=kernel)
    name = card.stem
    if name not in registry.names():
        registry.add_model_file(WEIGHTS / f"{name}.weights.h5", name=name, kernel=kernel)
    rows = bench(folder, [name], registry, lr_dir=lr_dir, kernel=kernel)
    (mean,) = [r for r in rows if r["method"] == name and r["image"] == "mean"]
    assert mean["psnr_y"] == pytest.approx(psnr_y, abs=0.01), card.name
    assert mean["ssim_y"] == pytest.approx(ssim_y, abs=1e-4), card.name
