"""`srviewer train srcnn|fsrcnn|espcn|vdsr|srresnet|srgan|augment|export`: the training engine from the command line.

Settings come from the defaults, then `--config FILE` (JSON or YAML), then the flags given.
`--resume RUN` reads RUN/config.json and continues from the last checkpoint (`--steps N` extends
the run). Registering imports neither TensorFlow nor Qt.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from srviewer.train.kinds import KIND_HELP

_SR_FLAGS = {
    # flag: (type, help)
    "data": (str, "comma-separated folders of HR images, tfds:div2k/bicubic_x4, or sample "
             "(scikit-image's bundled photos: offline, a demo run)"),
    "val": (str, "folder of HR validation images (default ../shared/datasets/sr-val/Set5/HR when it "
                "exists; `none`: no validation)"),
    "steps": (int, "total steps of the run"),
    "batch": (int, "patches per step (default 16)"),
    "patch": (int, "HR patch side in pixels (default 96)"),
    "kernel": (str, "degradation kernel: matlab (default) or opencv"),
    "lr": (float, "Adam learning rate at the start"),
    "lr_boundaries": (str, "comma-separated steps where the rate is multiplied by --lr-factor"),
    "lr_factor": (float, "learning-rate factor at each boundary (default 0.5)"),
    "loss": (str, "pixel loss: mse or l1"),
    "optimizer": (str, "adam (default) or sgd (with --momentum, VDSR's paper)"),
    "momentum": (float, "SGD momentum (default 0.9)"),
    "clip": (float, "VDSR's adjustable gradient clipping: each gradient element kept within "
                    "+-CLIP / current learning rate (the paper: 0.01 at SGD 0.1); 0 = off (default)"),
    "filters": (int, "generator filters (default 64)"),
    "blocks": (int, "generator residual blocks (default 16)"),
    "res_scale": (float, "residual branch scale (0.1 trains faster without batch norm)"),
    "n1": (int, "SRCNN/ESPCN first-layer filters (default 64)"),
    "n2": (int, "SRCNN/ESPCN second-layer filters (default 32)"),
    "activation": (str, "ESPCN hidden-layer activation: tanh (the paper, default) or relu"),
    "d": (int, "FSRCNN feature channels d (default 56)"),
    "s": (int, "FSRCNN shrunk channels s (default 12)"),
    "m": (int, "FSRCNN mapping layers m (default 4)"),
    "depth": (int, "VDSR convolution layers (default 20)"),
    "init": (str, "SRGAN: the SRResNet run folder or .weights.h5 to start from"),
    "content_loss": (str, "SRGAN content loss: vgg54 (needs ImageNet VGG19 weights), l1 or mse"),
    "adv_weight": (float, "SRGAN adversarial weight (default 1e-3)"),
    "gan_loss": (str, "SRGAN adversarial loss: bce (the paper, default) or ragan (ESRGAN's relativistic average)"),
    "feature_matching": (float, "SRGAN: weight of L1 feature matching on the discriminator's features (0: off)"),
    "texture_weight": (float, "SRGAN: weight of a Gram (texture) loss on a fixed random conv layer (0: off)"),
    "checkpoint_every": (int, "steps between checkpoints"),
    "val_every": (int, "steps between validations"),
    "log_every": (int, "steps between train events"),
    "keep": (int, "checkpoints kept"),
    "seed": (int, "random seed"),
    "xla": (str, "XLA-compile the train step: auto, on, off"),
    "strategy": (str, "tf.distribute strategy: auto (default: mirrored over 2+ GPUs or --cpu-replicas), none, "
                      "mirrored, multiworker (the cluster from TF_CONFIG)"),
    "cpu_replicas": (int, "split the CPU into N logical devices (testing the mirrored path on a CPU box)"),
    "precision": (str, "float32 (default) or mixed (float16 with loss scaling on GPU, bfloat16 on CPU)"),
    "worker_timeout": (float, "multiworker: seconds to wait for the other workers before giving up (default 300)"),
}


_DEFAULT_VAL = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "sr-val" / "Set5" / "HR"
# What a checkpoint holds: a resumed run cannot change these.
_FROZEN_ON_RESUME = ("filters", "blocks", "batch_norm", "res_scale", "bicubic_residual", "n1", "n2", "activation", "d",
                     "s", "m", "depth", "optimizer", "patch", "spectral_norm")


def register(subparsers) -> None:
    train = subparsers.add_parser("train", help="train SRCNN/FSRCNN/ESPCN/VDSR/SRResNet/SRGAN or run the "
                                  "augmentation experiment",
                                  description="The training engine. Each run writes config.json, events.jsonl, "
                                  "checkpoints/, samples/ and best/latest weights into its run folder.")
    kinds = train.add_subparsers(dest="train_kind", metavar="KIND", required=True)
    for kind, text in KIND_HELP.items():
        p = kinds.add_parser(kind, help=text, description=text)
        p.add_argument("--out", help="run folder to create (default runs/KIND-DATE)")
        p.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint")
        p.add_argument("--config", help="JSON or YAML file with the same settings as the flags")
        for name, (typ, helptext) in _SR_FLAGS.items():
            p.add_argument("--" + name.replace("_", "-"), dest=name, type=typ, default=None, help=helptext)
        p.add_argument("--batch-norm", dest="batch_norm", action=argparse.BooleanOptionalAction, default=None,
                       help="batch norm in the residual blocks (the paper's; off trains faster)")
        p.add_argument("--bicubic-residual", dest="bicubic_residual", action=argparse.BooleanOptionalAction,
                       default=None, help="learn the residual over the bicubic upscale")
        p.add_argument("--spectral-norm", dest="spectral_norm", action=argparse.BooleanOptionalAction,
                       default=None, help="SRGAN: spectral normalisation in the discriminator (no batch norm)")
        p.add_argument("--keep-generators", dest="keep_generators", action=argparse.BooleanOptionalAction,
                       default=None, help="keep the generator of every validation step in RUN/generators/ "
                       "for `export --step` (6 MB each at 64 filters; default: srgan only)")
        p.set_defaults(func=_run_sr, kind=kind)
    exp = kinds.add_parser("export", help="copy a run's best generator into weights/ with a model card")
    exp.add_argument("run", help="run folder")
    exp.add_argument("--name", required=True, help="method name: srcnn, fsrcnn, espcn, vdsr, srresnet or srgan")
    exp.add_argument("--weights-dir", default=None, help="default: the repository's weights/")
    exp.add_argument("--which", choices=("best", "latest"), default="best",
                     help="best: the highest validation PSNR-Y; latest: the newest checkpoint")
    exp.add_argument("--step", type=int, default=None,
                     help="instead of --which: the generator kept at this validation step (RUN/generators/)")
    exp.add_argument("--notes", default=None, help="a Markdown file appended to the card (why these choices)")
    exp.add_argument("--interpolate-with", default=None, metavar="WEIGHTS",
                     help="network interpolation (ESRGAN): blend the generator with this .weights.h5 of the "
                     "same architecture (e.g. the SRResNet an SRGAN run started from); needs --alpha")
    exp.add_argument("--alpha", type=float, default=None,
                     help="with --interpolate-with: the run generator's share, in (0, 1]")
    exp.set_defaults(func=_run_export)
    status = kinds.add_parser("status", help="one run's status, progress, ETA, last validation and sample")
    status.add_argument("run", help="run folder")
    status.set_defaults(func=_run_status)
    if importlib.util.find_spec("srviewer.train.augment_cli") is not None:
        from srviewer.train import augment_cli

        augment_cli.register(kinds)


def _resolve(args) -> tuple:
    from datetime import datetime

    from srviewer.errors import DataError
    from srviewer.train.sr_config import SRConfig, read_config_file
    from srviewer.train.sr_data import is_named_source

    values: dict = {}
    saved: dict = {}
    resumed = False
    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / "config.json").exists():
            raise DataError(f"--resume {run_dir}: no config.json there (not a run folder)")
        values = read_config_file(run_dir / "config.json")
        saved = dict(values)
        resumed = True
    else:
        run_dir = Path(args.out or f"runs/{args.kind}-{datetime.now():%Y%m%d-%H%M%S}")
        values["kind"] = args.kind
    if args.config:
        base = Path(args.config).resolve().parent
        from_file = read_config_file(args.config)
        for key in ("data", "val", "init"):
            value = from_file.get(key)
            if isinstance(value, str):
                value = [value] if key == "data" else value
            if value is not None and str(value).lower() != "none":
                from_file[key] = [str((base / v).resolve()) if not is_named_source(v) else v
                                  for v in value] if key == "data" else str((base / value).resolve())
        values.update(from_file)
    for name in list(_SR_FLAGS) + ["batch_norm", "bicubic_residual", "keep_generators", "spectral_norm"]:
        value = getattr(args, name, None)
        if value is None:
            continue
        if name == "data":
            value = [str(Path(v).resolve()) if not is_named_source(v) else v for v in value.split(",") if v]
        elif name in ("val", "init") and value.lower() not in ("", "none"):
            value = str(Path(value).resolve())
        elif name == "lr_boundaries":
            value = [int(v) for v in value.split(",") if v]
        values[name] = value
    if str(values.get("val")).lower() in ("", "none"):
        values["val"] = None          # `--val none`: no validation
    elif "val" not in values and _DEFAULT_VAL.is_dir():
        values["val"] = str(_DEFAULT_VAL)
    for name in _FROZEN_ON_RESUME:
        if resumed and name in saved and values.get(name) != saved[name]:
            raise DataError(f"--{name.replace('_', '-')} cannot change on --resume: {run_dir} was "
                            f"trained with {saved[name]!r} (its checkpoints hold that model)")
    if resumed and values.get("kind") != args.kind:
        raise DataError(f"--resume {run_dir} is a {values.get('kind')} run, not {args.kind}")
    values["kind"] = args.kind
    return SRConfig.from_dict(values), run_dir, resumed


def _run_sr(args) -> int:
    from srviewer.core.atomic import atomic_write_json
    from srviewer.errors import DataError, SrviewerError
    from srviewer.train.sr_trainer import SRTrainer, StopFlag, check_data_readable

    from srviewer.train.distribute import is_chief_process

    cfg, run_dir, resumed = _resolve(args)
    check_data_readable(cfg)
    from srviewer.core.tf_runtime import tf

    tf()   # after the settings' checks, before anything else imports it: start-up notices caught, C++ INFO off
    if is_chief_process(cfg.strategy):   # another worker of a multi-worker run writes nothing here
        if not resumed and (run_dir / "checkpoints").exists():
            raise DataError(f"{run_dir} already holds a run: use --resume {run_dir} or another --out")
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "config.json", cfg.to_dict())
    stop = StopFlag(run_dir)
    stop.install()
    trainer = SRTrainer(cfg, run_dir, resumed=resumed)
    validator = None
    if cfg.val:
        from srviewer.train.sr_validate import Validator

        validator = Validator(cfg.val, cfg.scale, cfg.kernel, trainer.spec["input"],
                              degradation=cfg.degradation_spec(), seed=cfg.seed)
    try:
        trainer.run(stop, validator)
    except Exception as exc:
        try:
            trainer.events.emit("error", message=f"{type(exc).__name__}: {exc}")
        except OSError:   # a full disk may refuse even this line; the CLI still reports the error
            pass
        if isinstance(exc, OSError) and not isinstance(exc, SrviewerError):   # e.g. log.txt on a full disk
            raise SrviewerError(f"training stopped: {exc.filename or run_dir}: {exc.strerror or exc}; "
                                f"continue with --resume {run_dir}") from None
        raise
    return 0


def _run_status(args) -> int:
    from srviewer.errors import DataError
    from srviewer.train.run_index import is_run_folder
    from srviewer.train.run_state import RunState

    run = Path(args.run)
    if not is_run_folder(run):
        raise DataError(f"{run} is not a run folder (no events.jsonl or config.json)")
    state = RunState.load(run)
    share = f" ({state.fraction:.0%})" if state.fraction is not None else ""
    print(f"{run}: {state.status}: {state.running_what()}{share}")
    line = state.status_line()
    if line and state.finished_reason is None:
        print(line)
    if state.devices_line():
        print(f"devices: {state.devices_line()}")
    if state.last_val:
        print(f"validation at step {state.val_step}: " + ", ".join(f"{k} {v:.4g}" for k, v in state.last_val.items()))
    if state.sample is not None:
        print(f"latest sample: {state.sample}")
    return 0


def _run_export(args) -> int:
    from srviewer.train.model_card import export_run

    path = export_run(Path(args.run), args.name, weights_dir=args.weights_dir, which=args.which,
                      notes=args.notes, step=args.step, interpolate_with=args.interpolate_with, alpha=args.alpha)
    print(f"wrote {path}")
    return 0
