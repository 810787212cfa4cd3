"""The training kinds `srviewer train` offers and the settings each kind's model takes: one table.

`train/cli.py` registers one sub-command per super-resolution kind with `KIND_HELP`; the Training tab
lists `ALL_KINDS` (labelled by `LABELS`), shows the fields `MODEL_OPTIONS[kind]` and
`OPTIMIZER_OPTIONS` for a super-resolution kind, and reads each field's type, help and choices from
the CLI's own parser (`option(name)`), so the tab offers exactly what `srviewer train KIND` accepts.
`flag_args(name, value)` turns a setting into the flags that set it. Qt-free and TensorFlow-free.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from functools import lru_cache

from srviewer.core.lineage import LABELS as METHOD_LABELS
from srviewer.train.sr_config import KINDS as SR_KINDS
from srviewer.train.sr_config import CONTENT_LOSSES, ESPCN_ACTIVATIONS, OPTIMIZERS, SRConfig

AUGMENT = "augment"
ALL_KINDS = (*SR_KINDS, AUGMENT)
LABELS = {**{kind: METHOD_LABELS[kind] for kind in SR_KINDS}, AUGMENT: "Augmentation experiment"}
KIND_HELP = {
    "srcnn": "SRCNN 9-5-5 on the bicubic-upscaled image, MSE",
    "fsrcnn": "FSRCNN(d, s, m): PReLU convolutions on the LR image, a deconvolution at the end",
    "espcn": "ESPCN 5-3-3 with tanh (the paper) or relu on the LR image, pixel shuffle at the end",
    "vdsr": "VDSR: 20 3x3 layers on the bicubic-upscaled image, global residual",
    "srresnet": "the SRGAN generator with a pixel loss",
    "srgan": "the generator after adversarial training, from an SRResNet",
}
# The settings that shape each kind's generator (SRConfig.generator_spec reads exactly these).
_SRRESNET = ("filters", "blocks", "batch_norm", "res_scale", "bicubic_residual")
MODEL_OPTIONS = {
    "srcnn": ("n1", "n2"),
    "fsrcnn": ("d", "s", "m", "bicubic_residual"),
    "espcn": ("n1", "n2", "activation", "bicubic_residual"),
    "vdsr": ("depth", "filters"),
    "srresnet": _SRRESNET,
    "srgan": _SRRESNET,
}
# Every super-resolution kind's generator optimiser (VDSR's paper: SGD with momentum and clipping).
OPTIMIZER_OPTIONS = ("optimizer", "momentum", "clip")
_CHOICES = {"optimizer": OPTIMIZERS, "content_loss": CONTENT_LOSSES, "activation": ESPCN_ACTIVATIONS}   # SRConfig.validate checks these


@dataclass(frozen=True)
class Option:
    name: str                    # the SRConfig field: "d"
    flag: str                    # "--d"
    type: type                   # int | float | bool | str
    default: object              # SRConfig's default
    choices: tuple | None        # the values allowed, where the setting is one of a few
    help: str                    # the CLI's help text


@lru_cache(maxsize=1)
def _train_parsers() -> dict[str, argparse.ArgumentParser]:
    """{kind: the parser of `srviewer train KIND`}, built by train/cli.py's own `register`."""
    from srviewer.train import cli

    root = argparse.ArgumentParser(prog="srviewer")
    cli.register(root.add_subparsers())
    train = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction)).choices["train"]
    kinds = next(a for a in train._actions if isinstance(a, argparse._SubParsersAction))
    return dict(kinds.choices)


def cli_kinds() -> list[str]:
    """The training kinds the CLI accepts (`srviewer train KIND`), leaving out export and status."""
    return [k for k in _train_parsers() if k not in ("export", "status")]


def cli_action(kind: str, dest: str) -> argparse.Action:
    """The argparse action of `srviewer train KIND` that sets `dest` (KeyError when there is none)."""
    for action in _train_parsers()[kind]._actions:
        if action.dest == dest:
            return action
    raise KeyError(f"srviewer train {kind} has no option for {dest!r}")


def option(name: str, kind: str = "srresnet") -> Option:
    """What the CLI says of one setting of a super-resolution kind (type, default, choices, help)."""
    action = cli_action(kind, name)
    default = {f.name: f.default for f in fields(SRConfig)}[name]
    typ = bool if isinstance(action, argparse.BooleanOptionalAction) else action.type or str
    choices = tuple(action.choices) if action.choices else _CHOICES.get(name)
    return Option(name, action.option_strings[0], typ, default, choices, action.help or "")


def kind_options(kind: str) -> tuple[str, ...]:
    """The settings the Training tab shows for a kind: its model's, then the optimiser's."""
    return MODEL_OPTIONS.get(kind, ()) + (OPTIMIZER_OPTIONS if kind in SR_KINDS else ())


def flag_args(name: str, value) -> list[str]:
    """The flags that set `name` to `value`: ["--d", "56"], ["--no-batch-norm"], ["--lr-boundaries", "1,2"]."""
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return [flag if value else "--no-" + name.replace("_", "-")]
    if isinstance(value, list):
        return [flag, ",".join(str(v) for v in value)]
    return [flag, str(value)]
