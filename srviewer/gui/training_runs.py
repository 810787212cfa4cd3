"""The list of past runs under a runs root folder; double-click (or Open) reopens one.

Run discovery is `srviewer.train.run_index.list_runs`; this panel only shows it.
Signal: `run_chosen(Path)`.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from srviewer.train.run_index import list_runs


class RunsPanel(QWidget):
    run_chosen = Signal(Path)
    root_changed = Signal(Path)

    def __init__(self, root: Path, parent=None):
        super().__init__(parent)
        self.root_edit = QLineEdit(str(root))
        browse = QPushButton("Folder…")
        browse.clicked.connect(self._browse)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.open_button = QPushButton("Open run")
        self.open_button.clicked.connect(self._open_selected)
        self.list = QListWidget()
        self.list.itemActivated.connect(lambda item: self.run_chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        top = QHBoxLayout()
        top.addWidget(self.root_edit, 1)
        top.addWidget(browse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.root_edit.editingFinished.connect(self._on_root_edited)
        self.refresh()

    @property
    def root(self) -> Path:
        return Path(self.root_edit.text().strip() or ".").expanduser()

    def set_root(self, root: Path) -> None:
        self.root_edit.setText(str(root))
        self._on_root_edited()

    def _on_root_edited(self) -> None:
        self.root_changed.emit(self.root)
        self.refresh()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Runs folder", str(self.root))
        if folder:
            self.set_root(Path(folder))

    def refresh(self) -> None:
        selected = self.selected_run()
        self.list.clear()
        for run in list_runs(self.root):
            when = datetime.datetime.fromtimestamp(run.modified).strftime("%Y-%m-%d %H:%M")
            total = f"/{run.total_steps}" if run.total_steps else ""
            kind = "" if run.kind is None or run.kind in run.name else f" ({run.kind})"
            item = QListWidgetItem(f"{run.name}{kind}: step {run.step}{total}, {run.state}")
            item.setData(Qt.ItemDataRole.UserRole, run.path)
            item.setToolTip(f"{run.path}\nlast written {when}\n{run.message}".strip())
            self.list.addItem(item)
            if selected is not None and run.path == selected:
                self.list.setCurrentItem(item)

    def selected_run(self) -> Path | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def run_paths(self) -> list[Path]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _open_selected(self) -> None:
        path = self.selected_run()
        if path is not None:
            self.run_chosen.emit(path)
