"""Tiny SRGAN runs for the tests: six 48x48 images and an SRResNet start of one step."""

import numpy as np

from srviewer.cli import main
from srviewer.core.images import write_image

# a generator of 8 filters and 1 block, 24-pixel patches: a GAN step in well under a second
GAN = ["--batch", "4", "--patch", "24", "--filters", "8", "--blocks", "1", "--xla", "off", "--log-every", "1",
       "--lr", "0.002", "--val", "none", "--content-loss", "l1", "--loss", "l1"]


def gan_start(root, seed: int = 3):
    """root/train (six smooth, noisy colour images) and root/init (an SRResNet run) -> (train, init)."""
    train, init = root / "train", root / "init"
    rng = np.random.default_rng(seed)
    for i in range(6):
        y, x = np.mgrid[0:48, 0:48]
        base = np.stack([np.sin(x / (3 + i)), np.cos(y / (4 + i)), np.sin((x + y) / 5)], -1)
        img = ((base + 1) * 110 + rng.normal(0, 6, base.shape)).clip(0, 255).astype(np.uint8)
        write_image(train / f"img_{i}.png", img)
    assert main(["train", "srresnet", "--data", str(train), "--steps", "1", "--out", str(init), *GAN]) == 0
    return train, init
