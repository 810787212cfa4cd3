"""Network interpolation (ESRGAN, Wang et al. 2018, section 3.4): the weights of an adversarially
trained generator blended with those of its PSNR-trained start, parameter by parameter,

    w = alpha * w_gan + (1 - alpha) * w_psnr        (alpha in (0, 1]; 1 is the GAN alone)

which trades the GAN's invented detail (and artifacts) against the PSNR model's smoothness
continuously, without training. Both files must hold the same architecture: their sidecars'
factory and kwargs are equal, and Keras loads each into the same model (by its own rules, not by
matching names here), so the blend is exact or refused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from srviewer.core import sidecar
from srviewer.errors import ModelFileError


def check_alpha(alpha: float) -> float:
    if not 0.0 < alpha <= 1.0:
        raise ModelFileError(f"--alpha must be in (0, 1] (1: the run's generator alone), not {alpha:g}")
    return float(alpha)


def same_architecture(spec: dict, base_path: Path) -> dict:
    """The sidecar of `base_path`; ModelFileError unless it builds the same network as `spec`."""
    if not Path(base_path).is_file():
        raise ModelFileError(f"cannot interpolate with {base_path}: no such file")
    base = sidecar.read(Path(base_path), required=True)
    mine = (spec.get("factory"), spec.get("kwargs") or {})
    theirs = (base.get("factory"), base.get("kwargs") or {})
    if mine != theirs:
        raise ModelFileError(f"cannot interpolate with {base_path}: it holds {theirs[0]}({theirs[1]}), "
                             f"the run's generator is {mine[0]}({mine[1]}); network interpolation needs "
                             "the same architecture (e.g. an SRGAN run and the SRResNet it started from)")
    return base


def blend(model, gan_path: Path, base_path: Path, alpha: float) -> list[np.ndarray]:
    """Load both weight files into `model` in turn and leave it holding their blend (returned too)."""
    alpha = check_alpha(alpha)
    try:
        model.load_weights(str(base_path))
        base = model.get_weights()
        model.load_weights(str(gan_path))
        gan = model.get_weights()
    except (ValueError, OSError) as exc:
        raise ModelFileError(f"cannot load {base_path} and {gan_path} into one model: {exc}") from None
    mixed = [alpha * g + (1.0 - alpha) * b if np.issubdtype(g.dtype, np.floating) else g for g, b in zip(gan, base)]
    model.set_weights(mixed)
    return mixed


def write_blend(spec: dict, gan_path: Path, base_path: Path, alpha: float, out_path: Path) -> dict:
    """Build `spec`'s model, blend the two files into it and save it to `out_path` (a .weights.h5);
    returns the sidecar entry that says how: {"with", "with_sha256", "alpha"}."""
    from srviewer.core import models

    same_architecture(spec, base_path)
    model = models.build(spec)
    blend(model, gan_path, base_path, alpha)
    model.save_weights(str(out_path))
    digest = hashlib.sha256(Path(base_path).read_bytes()).hexdigest()
    return {"with": Path(base_path).name, "with_sha256": digest, "alpha": check_alpha(alpha)}
