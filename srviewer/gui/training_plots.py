"""Live curves of a run: every loss and validation metric, one PlotDataItem per series.

Each series is created once (on its first point) and fed with `setData`; points arrive through
`add_events(events)` (the run's events.jsonl records) and are drawn by a timer at most every
250 ms. SR runs: "Losses" (train events, x = step), "Validation PSNR (dB)" and "Validation SSIM"
(val events). The augmentation experiment: "Accuracy" and "Loss" per epoch, one colour per
variant, training dashed and validation solid, like the notebook's accuracy plot.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QWidget

_NOT_SERIES = {"event", "time", "step", "steps_per_s", "lr", "eta_s", "total", "total_steps", "epoch",
               "seconds", "batch", "batches", "images", "classes", "pid"}
_VARIANT_ORDER = ("none", "flip_brightness", "cutmix", "mixup")


# matplotlib's tab10: distinct, readable on white; the four variants get the first four
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf")


def _colour(index: int):
    return pg.mkColor(_PALETTE[index % len(_PALETTE)])


class TrainingPlots(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._plots: dict[str, pg.PlotWidget] = {}
        self._data: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
        self._curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._colours: dict[str, int] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._timer = QTimer(self, interval=250)
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        self._mode = None
        self._set_mode("sr")

    # -- layout -------------------------------------------------------------------------------
    def _set_mode(self, mode: str) -> None:
        if mode == self._mode:
            return
        self.clear()
        for plot in self._plots.values():
            self._grid.removeWidget(plot)
            plot.deleteLater()
        self._plots = {}
        self._mode = mode
        if mode == "sr":
            titles = {"loss": ("Losses", "step"), "psnr": ("Validation PSNR (dB)", "step"),
                      "ssim": ("Validation SSIM", "step")}
            places = {"loss": (0, 0, 1, 2), "psnr": (1, 0, 1, 1), "ssim": (1, 1, 1, 1)}
        else:
            titles = {"accuracy": ("Accuracy (dashed: train, solid: validation)", "epoch"),
                      "loss": ("Loss (dashed: train, solid: validation)", "epoch")}
            places = {"accuracy": (0, 0, 1, 1), "loss": (1, 0, 1, 1)}
        for key, (title, xlabel) in titles.items():
            plot = pg.PlotWidget(title=title)
            plot.setBackground("w")
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("bottom", xlabel)
            rising = key in ("psnr", "ssim", "accuracy")  # keep the legend off where the curves go
            plot.addLegend(offset=(-10, -10) if rising else (-10, 10), labelTextColor="k")
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTextPen("k")
            plot.getPlotItem().titleLabel.setText(title, color="k")
            self._plots[key] = plot
            self._grid.addWidget(plot, *places[key])

    @property
    def mode(self) -> str:
        return self._mode

    def plot(self, key: str) -> pg.PlotWidget:
        return self._plots[key]

    # -- data ---------------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget every series (the curves go too)."""
        for (plot_key, _), curve in self._curves.items():
            if plot_key in self._plots:
                self._plots[plot_key].removeItem(curve)
                self._plots[plot_key].getPlotItem().legend.removeItem(curve)
        self._data.clear()
        self._curves.clear()
        self._colours.clear()
        self._dirty.clear()

    def reset_for(self, kind: str | None) -> None:
        """Empty plots laid out for a run of this kind ("augment" or an SR kind)."""
        self._set_mode("augment" if kind == "augment" else "sr")
        self.clear()

    def add_events(self, events: list[dict]) -> None:
        for record in events:
            name = record.get("event")
            if name == "started":
                self._set_mode("augment" if record.get("kind") == "augment" else "sr")
            elif name == "train" and self._mode == "sr":
                self._add_numbers("loss", record, record.get("step"))
            elif name == "val" and self._mode == "sr":
                for key, value in self._numbers(record):
                    self._append("psnr" if "psnr" in key else "ssim" if "ssim" in key else "loss",
                                 f"val {key}" if "psnr" not in key and "ssim" not in key else key,
                                 record.get("step"), value)
            elif name == "epoch":
                self._set_mode("augment")
                variant = str(record.get("variant", "run"))
                for key, value in self._numbers(record):
                    plot_key = "accuracy" if "acc" in key else "loss"
                    self._append(plot_key, f"{variant} {key}", record.get("epoch"), value, variant)

    @staticmethod
    def _numbers(record: dict):
        flat = dict(record)
        if isinstance(record.get("losses"), dict):  # the issue-4 form {"losses": {...}}
            flat.update(record["losses"])
        for key, value in flat.items():
            if key not in _NOT_SERIES and isinstance(value, (int, float)) and not isinstance(value, bool):
                yield key, float(value)

    def _add_numbers(self, plot_key: str, record: dict, x) -> None:
        for key, value in self._numbers(record):
            self._append(plot_key, key, x, value)

    def _append(self, plot_key: str, series: str, x, y: float, colour_key: str | None = None) -> None:
        if not isinstance(x, (int, float)):
            return
        key = (plot_key, series)
        if key not in self._curves:
            self._create_curve(key, colour_key or series)
        xs, ys = self._data[key]
        if xs and x <= xs[-1]:  # a resumed run repeats steps after its last checkpoint
            while xs and xs[-1] >= x:
                xs.pop(), ys.pop()
        xs.append(float(x))
        ys.append(y)
        self._dirty.add(key)

    def _create_curve(self, key: tuple[str, str], colour_key: str) -> None:
        plot_key, series = key
        if colour_key not in self._colours:
            order = list(_VARIANT_ORDER)
            self._colours[colour_key] = order.index(colour_key) if colour_key in order else len(self._colours)
        pen = pg.mkPen(_colour(self._colours[colour_key]), width=2)
        label = series
        if self._mode == "augment":  # one legend entry per variant: the title says dashed = train
            label = colour_key if "val_" in series else None
            if "val_" not in series:
                pen.setStyle(Qt.PenStyle.DashLine)
        symbol = "o" if self._mode == "augment" or plot_key in ("psnr", "ssim") else None
        curve = self._plots[plot_key].plot([], [], name=label, pen=pen, symbol=symbol, symbolSize=5,
                                           symbolBrush=_colour(self._colours[colour_key]), symbolPen=None)
        self._curves[key] = curve
        self._data[key] = ([], [])

    def flush(self) -> None:
        """Push the new points to their curves (the timer calls this)."""
        for key in self._dirty:
            xs, ys = self._data[key]
            self._curves[key].setData(xs, ys)
        self._dirty.clear()

    # -- for the tab and tests ----------------------------------------------------------------
    def series(self) -> dict[tuple[str, str], pg.PlotDataItem]:
        """{(plot, series name): its PlotDataItem}."""
        return dict(self._curves)
