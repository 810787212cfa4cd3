"""Live curves of a run: a view of a `train.run_state.RunState`'s curves, one PlotDataItem each.

`TrainingPlots(state)` observes the state: each curve is created once (on its first point) and
fed with `setData` from the state's points, at most every 250 ms (a timer). SR runs: "Losses"
(x = step), "Validation PSNR (dB)" and "Validation SSIM". The augmentation experiment: "Accuracy"
and "Loss" per epoch, one colour per variant, training dashed and validation solid, like the
notebook's accuracy plot. Which events make which curve is the state's business.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QWidget

from srviewer.train.run_state import RunState

_VARIANT_ORDER = ("none", "flip_brightness", "cutmix", "mixup")


# matplotlib's tab10: distinct, readable on white; the four variants get the first four
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf")


def _colour(index: int):
    return pg.mkColor(_PALETTE[index % len(_PALETTE)])


class TrainingPlots(QWidget):
    def __init__(self, state: RunState, parent=None):
        super().__init__(parent)
        self.state = state
        self._plots: dict[str, pg.PlotWidget] = {}
        self._curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._colours: dict[str, int] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._timer = QTimer(self, interval=250)
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        self._mode = None
        self._set_mode(state.layout)
        state.events.reset.connect(self._on_reset)
        state.events.curves_changed.connect(self._on_curves_changed)

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
            plot.addLegend(offset=(-10, -10) if rising else (-10, 10), labelTextColor="k",
                           brush=pg.mkBrush(255, 255, 255, 215), pen=pg.mkPen(200, 200, 200))  # readable over curves
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
        self._curves.clear()
        self._colours.clear()
        self._dirty.clear()

    def _on_reset(self) -> None:
        self._set_mode(self.state.layout)
        self.clear()

    def _on_curves_changed(self, keys) -> None:
        if self.state.layout != self._mode:   # e.g. the first event says "augment": every curve anew
            self._set_mode(self.state.layout)
            keys = set(self.state.curves)
        for key in sorted(keys, key=self._legend_order):   # legends list the variants in _VARIANT_ORDER
            if key[0] not in self._plots:   # a curve of the other layout (events before the kind was known)
                continue
            if key not in self._curves:
                self._create_curve(key, self.state.curves[key].group)
            self._dirty.add(key)

    def _legend_order(self, key: tuple[str, str]) -> tuple[int, str, str]:
        group = self.state.curves[key].group if key in self.state.curves else ""
        return (_VARIANT_ORDER.index(group) if group in _VARIANT_ORDER else len(_VARIANT_ORDER), *key)

    def _create_curve(self, key: tuple[str, str], colour_key: str) -> None:
        plot_key, series = key
        if colour_key not in self._colours:
            order = list(_VARIANT_ORDER)
            self._colours[colour_key] = order.index(colour_key) if colour_key in order else len(self._colours)
        pen = pg.mkPen(_colour(self._colours[colour_key]), width=2)
        label = series
        if self._mode == "augment":  # one legend entry per variant: the title says dashed = train
            validation = self.state.curves[key].validation
            label = colour_key if validation else None
            if not validation:
                pen.setStyle(Qt.PenStyle.DashLine)
        symbol = "o" if self._mode == "augment" or plot_key in ("psnr", "ssim") else None
        curve = self._plots[plot_key].plot([], [], name=label, pen=pen, symbol=symbol, symbolSize=5,
                                           symbolBrush=_colour(self._colours[colour_key]), symbolPen=None)
        self._curves[key] = curve

    def flush(self) -> None:
        """Push the new points to their curves (the timer calls this)."""
        for key in self._dirty:
            curve = self.state.curves.get(key)
            if curve is not None:
                self._curves[key].setData(curve.xs, curve.ys)
        self._dirty.clear()

    # -- for the tab and tests ----------------------------------------------------------------
    def series(self) -> dict[tuple[str, str], pg.PlotDataItem]:
        """{(plot, series name): its PlotDataItem}."""
        return dict(self._curves)
