"""Settings of a super-resolution training run: defaults, a JSON/YAML file, then the flags.

The resolved settings are written to RUN/config.json; `--resume RUN` reads them back, so a
resumed run trains the same model with the same schedule (only `steps` and the intervals may
change).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from srviewer.errors import DataError

ESPCN_ACTIVATIONS = ("tanh", "relu")
KINDS = ("srcnn", "fsrcnn", "espcn", "vdsr", "srresnet", "srgan")
OPTIMIZERS = ("adam", "sgd")
CONTENT_LOSSES = ("vgg54", "l1", "mse")


@dataclass
class SRConfig:
    kind: str = "srresnet"
    data: list[str] = field(default_factory=list)   # folders of HR images, or ["tfds:NAME"]
    val: str | None = None                           # folder of HR validation images (Set5)
    steps: int = 1000                                # total steps of the run
    batch: int = 16
    patch: int = 96                                  # HR patch side; LR is patch / scale
    scale: int = 4
    kernel: str = "matlab"                           # degradation: "matlab" or "opencv"
    degradation: dict | str | None = None            # per-patch chain (train/degrade_spec.py); None: kernel only
    lr: float = 1e-4                                 # Adam learning rate at step 0
    lr_boundaries: list[int] = field(default_factory=list)  # steps where the rate is multiplied
    lr_factor: float = 0.5                           # ... by this factor
    loss: str = "mse"                                # pixel loss: "mse" or "l1"
    optimizer: str = "adam"                          # "adam" or "sgd" (with momentum; VDSR's paper)
    momentum: float = 0.9                            # sgd only
    clip: float = 0.0                                # VDSR's adjustable gradient clipping theta (0: off):
                                                     # each gradient element within +-clip / current lr
    # generator (srresnet / srgan)
    filters: int = 64
    blocks: int = 16
    batch_norm: bool = True
    res_scale: float = 1.0
    bicubic_residual: bool = False
    # srcnn, espcn (first and second layers' filters)
    n1: int = 64
    n2: int = 32
    activation: str = "tanh"                         # espcn's hidden layers: "tanh" (the paper) or "relu"
    # fsrcnn(d, s, m): feature, shrunk and mapping-layer counts
    d: int = 56
    s: int = 12
    m: int = 4
    # vdsr (also `filters`)
    depth: int = 20
    # srgan
    init: str | None = None                          # SRResNet run folder or .weights.h5 (+ .json)
    content_loss: str = "vgg54"                      # "vgg54", "l1" or "mse"
    adv_weight: float = 1e-3
    gan_loss: str = "bce"                            # "bce" (the paper) or "ragan" (ESRGAN); train/gan_losses.py
    feature_matching: float = 0.0                    # weight of L1 on the discriminator's features
    texture_weight: float = 0.0                      # weight of the Gram loss on a fixed random conv layer
    spectral_norm: bool = False                      # spectral normalisation in the discriminator
    # bookkeeping
    checkpoint_every: int = 250
    val_every: int = 250
    log_every: int = 10
    keep: int = 3                                    # checkpoints kept
    keep_generators: bool | None = None              # RUN/generators/step_N.* at each validation (None: srgan only)
    seed: int = 0
    xla: str = "auto"                                # "auto", "on", "off"
    # devices (train/distribute.py): may change on --resume
    strategy: str = "auto"                           # "auto", "none", "mirrored", "multiworker"
    cpu_replicas: int = 0                            # logical CPU devices to split the host CPU into (0: 1)
    precision: str = "float32"                       # "float32" or "mixed" (16-bit compute)
    worker_timeout: float = 300.0                    # multiworker: seconds a collective waits for the others

    @classmethod
    def from_dict(cls, values: dict) -> "SRConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DataError(f"unknown training setting(s): {', '.join(unknown)}")
        cfg = cls(**values)
        cfg.validate()
        return cfg

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        self.degradation_spec()   # a bad "degradation" is one line, before anything runs
        if self.kind not in KINDS:
            raise DataError(f"unknown training kind {self.kind!r}")
        if self.loss not in ("mse", "l1"):
            raise DataError(f"--loss must be mse or l1, not {self.loss!r}")
        if self.content_loss not in CONTENT_LOSSES:
            raise DataError(f"--content-loss must be vgg54, l1 or mse, not {self.content_loss!r}")
        if self.gan_loss not in ("bce", "ragan"):
            raise DataError(f"--gan-loss must be bce or ragan, not {self.gan_loss!r}")
        if self.feature_matching < 0 or self.texture_weight < 0:
            raise DataError("--feature-matching and --texture-weight must be 0 (off) or positive")
        if self.activation not in ESPCN_ACTIVATIONS:
            raise DataError(f"--activation must be tanh or relu, not {self.activation!r}")
        if self.optimizer not in OPTIMIZERS:
            raise DataError(f"--optimizer must be adam or sgd, not {self.optimizer!r}")
        if self.clip < 0:
            raise DataError(f"--clip must be 0 (off) or positive, not {self.clip}")
        if self.strategy not in ("auto", "none", "mirrored", "multiworker"):
            raise DataError(f"--strategy must be auto, none, mirrored or multiworker, not {self.strategy!r}")
        if self.cpu_replicas < 0 or self.worker_timeout <= 0:
            raise DataError("--cpu-replicas must be 0 or more and --worker-timeout positive")
        if self.precision not in ("float32", "mixed"):
            raise DataError(f"--precision must be float32 or mixed, not {self.precision!r}")
        if self.steps < 1 or self.batch < 1:
            raise DataError("--steps and --batch must be at least 1")
        if self.patch % self.scale:
            raise DataError(f"--patch {self.patch} must be a multiple of the scale {self.scale}")
        if self.kind == "srgan" and not self.init:
            raise DataError("srgan starts from a trained SRResNet: pass --init RUN_DIR or a .weights.h5")
        if not self.data:
            raise DataError("no training data: pass --data FOLDER (or tfds:div2k/bicubic_x4)")

    def degradation_spec(self):
        """The training degradation (train.degrade_spec.DegradationSpec) or None: kernel only."""
        from srviewer.train.degrade_spec import parse_spec

        return parse_spec(self.degradation, self.kernel)

    @property
    def keeps_generators(self) -> bool:
        """Whether each validation step's generator is kept: by default for srgan, whose model is
        chosen by eye (its best-PSNR step is merely the least adversarial one)."""
        return self.kind == "srgan" if self.keep_generators is None else bool(self.keep_generators)

    def generator_spec(self) -> dict:
        """The sidecar's factory + kwargs for the generator this run trains."""
        if self.kind == "srcnn":
            return {"factory": "srcnn", "kwargs": {"n1": self.n1, "n2": self.n2}, "input": "bicubic"}
        if self.kind == "vdsr":
            return {"factory": "vdsr", "kwargs": {"depth": self.depth, "filters": self.filters}, "input": "bicubic"}
        if self.kind == "fsrcnn":
            return {"factory": "fsrcnn", "input": "lr", "kwargs": {
                "d": self.d, "s": self.s, "m": self.m, "scale": self.scale, "bicubic_residual": self.bicubic_residual}}
        if self.kind == "espcn":
            return {"factory": "espcn", "input": "lr", "kwargs": {
                "scale": self.scale, "n1": self.n1, "n2": self.n2, "bicubic_residual": self.bicubic_residual,
                "activation": self.activation}}
        return {"factory": "sr_resnet", "input": "lr", "kwargs": {
            "num_filters": self.filters, "num_res_blocks": self.blocks, "scale": self.scale,
            "batch_norm": self.batch_norm, "res_scale": self.res_scale,
            "bicubic_residual": self.bicubic_residual}}


def read_config_file(path: str | Path) -> dict:
    """Settings from a .json or .yaml/.yml file; relative data paths resolve against the file's repo."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"config file {path} cannot be read ({exc.strerror})") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            values = yaml.safe_load(text) or {}
        else:
            values = json.loads(text)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"config file {path} is not valid: {exc}") from None
    if not isinstance(values, dict):
        raise DataError(f"config file {path} must hold a mapping of settings")
    return {k.replace("-", "_"): v for k, v in values.items()}
