"""The shipped methods as the lineage the course walks through, oldest first, with their year.

One table for the methods registry, the window's method list, the CLI's listings, `srviewer bench`
and the model cards: name, label, year, whether the window ticks it by default, and the command
that trains it (None for bicubic, which needs no weights). Imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LineageStep:
    name: str                    # the method's registry name (weights/NAME.weights.h5)
    label: str                   # as the window and the cards show it
    year: int                    # of the paper that introduced it
    ticked: bool                 # ticked in the window by default
    train_command: str | None    # how srviewer trains it (None: nothing to train)

    @property
    def caption(self) -> str:
        """'SRCNN (2014)': the label with its year."""
        return f"{self.label} ({self.year})"


LINEAGE = (
    LineageStep("bicubic", "Bicubic", 1981, True, None),       # Keys' cubic convolution
    LineageStep("srcnn", "SRCNN", 2014, True, "srviewer train srcnn --config configs/srcnn.json"),
    LineageStep("fsrcnn", "FSRCNN", 2016, False, "srviewer train fsrcnn --config configs/fsrcnn.json"),
    LineageStep("espcn", "ESPCN", 2016, False, "srviewer train espcn --config configs/espcn.json"),
    LineageStep("vdsr", "VDSR", 2016, False, "srviewer train vdsr --config configs/vdsr.json"),
    LineageStep("srresnet", "SRResNet", 2017, True, "srviewer train srresnet --config configs/srresnet.json"),
    LineageStep("srgan", "SRGAN", 2017, True, "srviewer train srgan --config configs/srgan.json"),
)
BY_NAME = {step.name: step for step in LINEAGE}
LABELS = {step.name: step.label for step in LINEAGE}
DEFAULT_TICKED = tuple(step.name for step in LINEAGE if step.ticked)


def lineage_order(names) -> list[str]:
    """`names` with the shipped methods first, in lineage order, then the others as they came."""
    rank = {step.name: i for i, step in enumerate(LINEAGE)}
    return sorted(dict.fromkeys(names), key=lambda n: rank.get(n, len(rank)))   # stable: others keep their order


def default_ticks(names) -> list[str]:
    """The methods the window ticks by default: the lineage's ticked ones (bicubic, SRCNN, SRResNet,
    SRGAN) and every method outside the lineage (a model the user added)."""
    return [n for n in names if n not in BY_NAME or BY_NAME[n].ticked]


def caption(name: str, label: str) -> str:
    """How a method list shows a method: 'FSRCNN (2016)' for a shipped one, else its label."""
    return BY_NAME[name].caption if name in BY_NAME else label
