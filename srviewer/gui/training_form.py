"""The settings form of the training tab: experiment, data, main settings, run folder, presets.

`TrainingForm.values() -> dict` / `set_values(dict)` hold the form as plain JSON-able values (what
a preset file stores; `options`: the kind's model and optimiser settings, {name: value}). The kinds,
their labels, which settings each kind's model takes and each setting's type, choices and help come
from the train package (train/kinds.py reads them off `srviewer train`'s own parser), so the form
offers exactly what the CLI does; `show_preset(name)` names the preset or recipe the form holds (marked
"edited" once a value changes); the data field offers DATA_CHOICES, each explained under it
(`describe_data`), and defaults to `sample`, which trains on any machine;
`command_args(values, out) -> list[str]` turns them into the flags of
`srviewer train KIND ...`; `check_data(spec, kind)` checks a data folder before launch (raises
DataError with one clear line). Presets are JSON files, by default in `presets_dir(settings)`.
"""

from __future__ import annotations

import html
import json
import os
import shlex
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from srviewer.core.atomic import atomic_write_json
from srviewer.core.images import IMAGE_SUFFIXES
from srviewer.errors import DataError, SrviewerError
from srviewer.train import kinds as train_kinds
from srviewer.train.augment_ops import VARIANTS
from srviewer.train.sr_data import SAMPLE_PHOTOS

# The kinds `srviewer train` offers, in its order, and their labels (train/kinds.py: one table)
KINDS = {kind: train_kinds.LABELS[kind] for kind in train_kinds.ALL_KINDS}
AUGMENT = train_kinds.AUGMENT
DEFAULT_DATA = {**{kind: "sample" for kind in train_kinds.SR_KINDS}, AUGMENT: "tfds:stanford_dogs"}
# (label, value) offered beside the data field, per kind ("sr": every super-resolution kind); None: choose a folder
DATA_CHOICES = {
    "sr": (("Sample photos (offline demo)", "sample"),
           ("DIV2K (TensorFlow Datasets, network)", "tfds:div2k/bicubic_x4"),
           ("A folder of images…", None)),
    "augment": (("Stanford Dogs (TensorFlow Datasets, network)", "tfds:stanford_dogs"),
                ("A folder of class sub-folders…", None)),
}
CONTENT_LOSSES = train_kinds.option("content_loss", "srgan").choices
AUGMENT_MODELS = tuple(train_kinds.cli_action(AUGMENT, "model").choices)   # resnet50, small, tiny
PRESET_FORMAT = 1


def describe_data(spec: str, kind: str) -> str:
    """What a data choice means, in a line or two for the form."""
    spec = spec.strip()
    if spec == "sample" and kind == "augment":
        return "the sample photos are for super-resolution runs: choose class sub-folders or tfds:NAME"
    if spec == "sample":
        return (f"scikit-image's {len(SAMPLE_PHOTOS)} bundled photos: trains on any machine, offline, at once. "
                "A demo: too little data for a good model.")
    if spec.startswith("tfds:div2k"):
        return ("DIV2K's 800 training photos (the papers' data) from TensorFlow Datasets: needs "
                "`pip install srviewer[datasets]` and a network to download them once (about 4 GB).")
    if spec.startswith("tfds:"):
        return (f"the TensorFlow Datasets set {spec[5:] or '?'}: needs `pip install srviewer[datasets]` "
                "and a network to download it once.")
    if not spec:
        return "choose the training data."
    if kind == "augment":
        return "your folder with one sub-folder of images per class."
    folders = "folders" if "," in spec else "folder"
    return f"your {folders} of HR photos (searched recursively); the LR images are made from them by the run."


def check_data(spec: str, kind: str) -> None:
    """A data spec the engine can start on: `sample` (super-resolution), `tfds:NAME`, or readable
    folders (comma-separated) with images (searched recursively) or, for augment, class sub-folders.
    Raises DataError (one line)."""
    spec = spec.strip()
    if not spec:
        raise DataError("choose the training data: sample, a folder of images or tfds:NAME")
    if spec == "sample":
        if kind == "augment":
            raise DataError("the sample photos are for super-resolution runs: the augmentation experiment "
                            "needs a folder of class sub-folders or tfds:NAME")
        return
    if spec.startswith("tfds:"):
        if len(spec) == len("tfds:"):
            raise DataError("tfds: needs a data set name, e.g. tfds:div2k/bicubic_x4")
        return
    if "," in spec and kind != "augment":
        for part in spec.split(","):
            if part.strip():
                check_data(part, kind)
        return
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise DataError(f"data folder not found: {folder}")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise DataError(f"data folder not readable: {folder}")
    if kind == "augment":
        from srviewer.train.augment_data import scan_folder  # numpy only, no TensorFlow

        scan_folder(folder)  # raises DataError naming what is missing
        return
    for _root, _dirs, files in os.walk(folder):
        if any(Path(f).suffix.lower() in IMAGE_SUFFIXES for f in files):
            return
    raise DataError(f"no images (.png, .jpg, ...) in {folder} or its sub-folders")


def command_args(values: dict, out: str | os.PathLike) -> list[str]:
    """`train KIND --data ... --out OUT` flags for a new run from the form's values."""
    kind = values["kind"]
    args = ["train", kind, "--data", str(values["data"]).strip(), "--out", str(out),
            "--batch", str(values["batch"]), "--lr", repr(float(values["lr"]))]
    if kind == "augment":
        args += ["--epochs", str(values["epochs"]), "--variants", ",".join(values["variants"]),
                 "--model", values["model"]]
        for name in ("seeds", "report_dir"):
            if str(values.get(name) or "").strip():
                args += [f"--{name.replace('_', '-')}", str(values[name]).strip()]
    else:
        args += ["--steps", str(values["steps"]), "--checkpoint-every", str(values["checkpoint_every"]),
                 "--val-every", str(values["val_every"])]
        if values.get("val", "").strip():
            args += ["--val", values["val"].strip()]
        if kind == "srgan":
            args += ["--content-loss", values["content_loss"]]
            if values.get("init", "").strip():
                args += ["--init", values["init"].strip()]
        for name in train_kinds.kind_options(kind):       # the kind's model and optimiser fields
            if name in values.get("options", {}):
                args += train_kinds.flag_args(name, values["options"][name])
    return args + shlex.split(values.get("extra", ""))


def resume_args(kind: str, run_dir: str | os.PathLike, values: dict) -> list[str]:
    """`train KIND --resume RUN` with the form's total steps (SR) or epochs (augment); an experiment
    over seeds continues over its own seeds with its own epochs (a seed already done keeps its)."""
    if kind == AUGMENT:
        from srviewer.train.augment_seeds import saved_seeds

        more = [] if saved_seeds(run_dir) else ["--epochs", str(values["epochs"])]
    else:
        more = ["--steps", str(values["steps"])]
    return ["train", kind, "--resume", str(run_dir), *more]


def presets_dir(settings) -> Path:
    """RUN presets live beside the QSettings file: <settings folder>/presets."""
    return Path(settings.fileName()).parent / "presets"


def save_preset(path: str | os.PathLike, values: dict) -> None:
    atomic_write_json(path, {"format": PRESET_FORMAT, "training_form": values})


def load_preset(path: str | os.PathLike) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return dict(data["training_form"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"not a training preset: {path} ({exc.__class__.__name__})") from None


class TrainingForm(QWidget):
    kind_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.kind = QComboBox()
        for key, label in KINDS.items():
            self.kind.addItem(label, key)
        self.preset_label = QLabel()
        self.preset_label.setWordWrap(True)
        self._preset: tuple[str, dict] | None = None
        self._preset_detail = ""
        self.data = QLineEdit(DEFAULT_DATA["srresnet"])
        self.data.setPlaceholderText("sample, a folder of images, or tfds:NAME")
        self.data.setToolTip("sample (scikit-image's photos, offline), folders of HR images (comma-separated, "
                             "searched recursively), for augmentation a folder of class sub-folders, or "
                             "tfds:NAME (needs the data set downloaded)")
        self.data_choice = QComboBox()
        self.data_choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.data_choice.setMinimumContentsLength(14)     # long labels never widen the form
        self.data_choice.setToolTip("ready-made data choices; the field beside takes any folder or tfds:NAME")
        self.data_choice.activated.connect(self._on_data_chosen)
        self.data_help = QLabel()
        self.data_help.setWordWrap(True)
        self.data_help.setStyleSheet("color: #555;")
        self.data.textChanged.connect(self._explain_data)
        self.val = QLineEdit()
        self.val.setPlaceholderText("optional validation folder")
        self.steps = self._spin(1, 10_000_000, 2000)
        self.batch = self._spin(1, 4096, 16)
        self.lr = QDoubleSpinBox(decimals=6, minimum=1e-6, maximum=1.0, singleStep=1e-5, value=1e-4)
        self.checkpoint_every = self._spin(1, 1_000_000, 250)
        self.val_every = self._spin(1, 1_000_000, 250)
        self.content_loss = QComboBox()
        self.content_loss.addItems(CONTENT_LOSSES)
        self.content_loss.setToolTip("vgg54 needs the VGG19 ImageNet weights (downloaded once); "
                                     "l1/mse are pixel losses that work offline")
        self.init = QLineEdit()
        self.init.setPlaceholderText("SRResNet run folder or .weights.h5")
        self.options = {kind: self._option_fields(train_kinds.MODEL_OPTIONS[kind]) for kind in train_kinds.SR_KINDS}
        self.model_boxes = {kind: self._option_grid(fields) for kind, fields in self.options.items()}
        model_box = QWidget()
        model_rows = QVBoxLayout(model_box)
        model_rows.setContentsMargins(0, 0, 0, 0)
        for box in self.model_boxes.values():
            model_rows.addWidget(box)
        self.optimizer_options = self._option_fields(train_kinds.OPTIMIZER_OPTIONS)
        self.optimizer_options["optimizer"].currentTextChanged.connect(self._on_optimizer_changed)
        self.epochs = self._spin(1, 1000, 3)
        self.model = QComboBox()
        self.model.addItems(AUGMENT_MODELS)
        self.model.setToolTip(train_kinds.cli_action(AUGMENT, "model").help)
        self.seeds = QLineEdit()
        self.seeds.setPlaceholderText("empty: one run; 0,1,2: once per seed, mean ± std")
        self.seeds.setToolTip(train_kinds.cli_action(AUGMENT, "seeds").help)
        self.report_dir = QLineEdit()
        self.report_dir.setPlaceholderText("with seeds: also copy the report here")
        self.report_dir.setToolTip(train_kinds.cli_action(AUGMENT, "report_dir").help)
        self.variant_boxes = {v: QCheckBox(v) for v in VARIANTS}
        variants = QWidget()
        grid = QGridLayout(variants)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, box in enumerate(self.variant_boxes.values()):
            box.setChecked(True)
            grid.addWidget(box, i // 2, i % 2)
        self.extra = QLineEdit()
        self.extra.setPlaceholderText("more flags, e.g. --filters 32 --blocks 4")
        self.out = QLineEdit()
        self.out.setPlaceholderText("empty: a new folder under the runs folder")

        form.addRow("Preset", self.preset_label)
        form.addRow("Experiment", self.kind)
        form.addRow("Data", self.data_choice)
        form.addRow("", self._with_button(self.data, "Folder…", self._browse_data))
        form.addRow("", self.data_help)
        self._rows = {
            "val": self._row(form, "Validation", self._with_button(self.val, "Folder…", self._browse_val)),
            "steps": self._row(form, "Steps (total)", self.steps),
            "epochs": self._row(form, "Epochs", self.epochs),
            "batch": self._row(form, "Batch", self.batch),
            "lr": self._row(form, "Learning rate", self.lr),
            "checkpoint_every": self._row(form, "Checkpoint every", self.checkpoint_every),
            "val_every": self._row(form, "Validate every", self.val_every),
            "content_loss": self._row(form, "Content loss", self.content_loss),
            "init": self._row(form, "Start from", self._with_button(self.init, "Folder…", self._browse_init)),
            "options": self._row(form, "Model", model_box),
            "optimizer": self._row(form, "Optimizer", self._option_grid(self.optimizer_options,
                                                                        unlabelled=("optimizer",))),
            "model": self._row(form, "Classifier", self.model),
            "variants": self._row(form, "Variants", variants),
            "seeds": self._row(form, "Seeds", self.seeds),
            "report_dir": self._row(form, "Report folder",
                                    self._with_button(self.report_dir, "Folder…", self._browse_report)),
            "extra": self._row(form, "Extra flags", self.extra),
        }
        form.addRow("Run folder", self._with_button(self.out, "Folder…", self._browse_out))
        self._form = form
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self._on_kind_changed()
        self._on_optimizer_changed(self.optimizer_options["optimizer"].currentText())
        self.show_preset(None)
        for kind, signal in ((QLineEdit, "textChanged"), (QSpinBox, "valueChanged"), (QDoubleSpinBox, "valueChanged"),
                             (QComboBox, "currentIndexChanged"), (QCheckBox, "toggled")):
            for widget in self.findChildren(kind):
                getattr(widget, signal).connect(self._mark_preset_edited)

    # -- building -----------------------------------------------------------------------------
    @staticmethod
    def _spin(lo: int, hi: int, value: int) -> QSpinBox:
        box = QSpinBox(minimum=lo, maximum=hi, value=value)
        box.setGroupSeparatorShown(True)
        return box

    @staticmethod
    def _option_fields(names) -> dict[str, QWidget]:
        """One field per setting, typed and explained as `srviewer train` takes it (train/kinds.py)."""
        fields = {}
        for name in names:
            opt = train_kinds.option(name)
            if opt.type is bool:
                field = QCheckBox(name.replace("_", " "))
                field.setChecked(bool(opt.default))
            elif opt.choices:
                field = QComboBox()
                field.addItems(opt.choices)
                field.setCurrentText(str(opt.default))
            elif opt.type is int:      # layer and filter counts: small numbers, compact boxes
                field = QSpinBox(minimum=0, maximum=9999, value=int(opt.default))
            else:                      # momentum, clipping, residual scale
                field = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=99.0, singleStep=0.01, value=float(opt.default))
            field.setToolTip(f"{opt.flag}: {opt.help}")
            fields[name] = field
        return fields

    @staticmethod
    def _option_grid(fields: dict[str, QWidget], per_row: int = 2, unlabelled=()) -> QWidget:
        """The fields in a compact grid, each spin box or list after its name (but `unlabelled`)."""
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        boxes = [f for f in fields.values() if isinstance(f, QCheckBox)]
        numbers = [(name, f) for name, f in fields.items() if not isinstance(f, QCheckBox)]
        for i, (name, field) in enumerate(numbers):
            row, col = divmod(i, per_row)
            label = QLabel("" if name in unlabelled else name.replace("_", " "))
            label.setToolTip(field.toolTip())
            grid.addWidget(label, row, 2 * col)
            grid.addWidget(field, row, 2 * col + 1)
        if boxes:                       # the switches share one row under the numbers
            switches = QHBoxLayout()
            for field in boxes:
                switches.addWidget(field)
            switches.addStretch(1)
            grid.addLayout(switches, (len(numbers) + per_row - 1) // per_row, 0, 1, 2 * per_row)
        return box

    @staticmethod
    def _row(form: QFormLayout, label: str, widget: QWidget) -> QWidget:
        form.addRow(label, widget)
        return widget

    @staticmethod
    def _with_button(edit: QLineEdit, text: str, slot) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QPushButton(text)
        button.clicked.connect(slot)
        row.addWidget(button)
        return box

    def _browse_into(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text() if Path(edit.text()).is_dir() else "")
        if folder:
            edit.setText(folder)

    def _browse_data(self):
        self._browse_into(self.data, "Training data folder")

    def _browse_val(self):
        self._browse_into(self.val, "Validation folder")

    def _browse_init(self):
        self._browse_into(self.init, "SRResNet run folder to start from")

    def _browse_report(self):
        self._browse_into(self.report_dir, "Folder for the experiment's report")

    def _browse_out(self):
        self._browse_into(self.out, "Run folder")

    def _on_data_chosen(self, index: int) -> None:
        value = self.data_choice.itemData(index)
        if value is None:
            self._browse_data()
        else:
            self.data.setText(value)

    def _explain_data(self, *_) -> None:
        """The line under the data field, and the choice beside it, follow what the field holds."""
        text = self.data.text().strip()
        self.data_help.setText(describe_data(text, self.current_kind()))
        values = [self.data_choice.itemData(i) for i in range(self.data_choice.count())]
        self.data_choice.blockSignals(True)
        self.data_choice.setCurrentIndex(values.index(text) if text in values else values.index(None))
        self.data_choice.blockSignals(False)

    def _fill_data_choices(self, kind: str) -> None:
        self.data_choice.blockSignals(True)
        self.data_choice.clear()
        for label, value in DATA_CHOICES["augment" if kind == "augment" else "sr"]:
            self.data_choice.addItem(label, value)
        self.data_choice.blockSignals(False)

    # -- the preset shown ---------------------------------------------------------------------
    def show_preset(self, name: str | None, detail: str = "") -> None:
        """Name the preset or recipe the form now holds (None: the form's own defaults or edits);
        `detail`: a line under the name (where it comes from)."""
        self._preset = None if name is None else (name, self.values())
        self._preset_detail = detail
        self._mark_preset_edited()

    def preset_name(self) -> str | None:
        """The preset the form holds unchanged, or None."""
        if self._preset is None or self._preset[1] != self.values():
            return None
        return self._preset[0]

    def _mark_preset_edited(self, *_) -> None:
        detail = f"<br><span style='color:#555'>{html.escape(self._preset_detail)}</span>" \
            if self._preset_detail else ""
        if self._preset is None:
            self.preset_label.setText("none: the form's own settings")
        elif self.preset_name() is None:
            self.preset_label.setText(f"{html.escape(self._preset[0])}, edited{detail}")
        else:
            self.preset_label.setText(f"<b>{html.escape(self._preset[0])}</b>{detail}")

    def _on_kind_changed(self, *_):
        kind = self.current_kind()
        sr, augment = kind != "augment", kind == "augment"
        shown = {"val": sr, "steps": sr, "epochs": augment, "checkpoint_every": sr, "val_every": sr,
                 "content_loss": kind == "srgan", "init": kind == "srgan", "options": sr, "optimizer": sr,
                 "model": augment, "variants": augment, "seeds": augment, "report_dir": augment}
        for key, visible in shown.items():
            self._form.setRowVisible(self._rows[key], visible)
        for name, box in self.model_boxes.items():
            box.setVisible(name == kind)
        if self.data.text().strip() in DEFAULT_DATA.values():
            self.data.setText(DEFAULT_DATA[kind])
        self._fill_data_choices(kind)
        self._explain_data()
        self.kind_changed.emit(kind)

    def _on_optimizer_changed(self, name: str) -> None:
        self.optimizer_options["momentum"].setEnabled(name == "sgd")

    # -- values -------------------------------------------------------------------------------
    def current_kind(self) -> str:
        return self.kind.currentData()

    def _option_fields_of(self, kind: str) -> dict[str, QWidget]:
        """The fields of a kind's settings (train_kinds.kind_options): its model's, then the optimiser's."""
        if kind not in self.options:
            return {}
        return {**self.options[kind], **self.optimizer_options}

    @staticmethod
    def _field_value(field: QWidget):
        if isinstance(field, QCheckBox):
            return field.isChecked()
        if isinstance(field, QComboBox):
            return field.currentText()
        return field.value()

    @staticmethod
    def _set_field(field: QWidget, value) -> None:
        if isinstance(field, QCheckBox) and isinstance(value, bool):
            field.setChecked(value)
        elif isinstance(field, QComboBox) and field.findText(str(value)) >= 0:
            field.setCurrentText(str(value))
        elif isinstance(field, QSpinBox) and isinstance(value, int) and not isinstance(value, bool):
            field.setValue(value)
        elif isinstance(field, QDoubleSpinBox) and isinstance(value, (int, float)) and not isinstance(value, bool):
            field.setValue(float(value))

    def values(self) -> dict:
        return {"kind": self.current_kind(), "data": self.data.text().strip(), "val": self.val.text().strip(),
                "steps": self.steps.value(), "batch": self.batch.value(), "lr": self.lr.value(),
                "checkpoint_every": self.checkpoint_every.value(), "val_every": self.val_every.value(),
                "content_loss": self.content_loss.currentText(), "epochs": self.epochs.value(),
                "model": self.model.currentText(), "seeds": self.seeds.text().strip(),
                "report_dir": self.report_dir.text().strip(),
                "options": {name: self._field_value(f) for name, f in self._option_fields_of(self.current_kind()).items()},
                "variants": [v for v, box in self.variant_boxes.items() if box.isChecked()],
                "init": self.init.text().strip(), "extra": self.extra.text().strip(), "out": self.out.text().strip()}

    def set_values(self, values: dict) -> None:
        """Fill the form from a dict like values() (unknown keys ignored, missing keys kept)."""
        if values.get("kind") in KINDS:
            self.kind.setCurrentIndex(list(KINDS).index(values["kind"]))
        for name in ("data", "val", "init", "extra", "out", "seeds", "report_dir"):
            if isinstance(values.get(name), str):
                getattr(self, name).setText(values[name])
        for name in ("steps", "batch", "checkpoint_every", "val_every", "epochs"):
            if isinstance(values.get(name), int):
                getattr(self, name).setValue(values[name])
        if isinstance(values.get("lr"), (int, float)):
            self.lr.setValue(float(values["lr"]))
        for name, options in (("content_loss", CONTENT_LOSSES), ("model", AUGMENT_MODELS)):
            if values.get(name) in options:
                getattr(self, name).setCurrentText(values[name])
        fields = self._option_fields_of(self.current_kind())
        for name, value in (values.get("options") or {}).items():
            if name in fields:
                self._set_field(fields[name], value)
        if isinstance(values.get("variants"), list):
            for variant, box in self.variant_boxes.items():
                box.setChecked(variant in values["variants"])

    def validate(self) -> None:
        """Raise DataError (one line) when the form cannot start a run."""
        values = self.values()
        check_data(values["data"], values["kind"])
        if values["kind"] == AUGMENT and not values["variants"]:
            raise DataError("choose at least one augmentation variant")
        if values["kind"] == AUGMENT and values["seeds"]:
            from srviewer.train.augment_cli import parse_seeds

            try:
                parse_seeds(values["seeds"])
            except SrviewerError as exc:
                raise DataError(str(exc)) from None
        elif values["kind"] == AUGMENT and values["report_dir"]:
            raise DataError("a report folder goes with seeds (e.g. 0,1,2): the report is the mean over seeds")
        if values["val"] and values["kind"] != "augment" and not Path(values["val"]).expanduser().is_dir():
            raise DataError(f"validation folder not found: {values['val']}")
        if values["kind"] == "srgan" and not values["init"]:
            raise DataError("SRGAN starts from a trained SRResNet: choose its run folder or .weights.h5")
        if values["init"] and values["kind"] == "srgan" and not Path(values["init"]).expanduser().exists():
            raise DataError(f"SRResNet to start from not found: {values['init']}")
        try:
            shlex.split(values["extra"])
        except ValueError as exc:
            raise DataError(f"extra flags: {exc}") from None
