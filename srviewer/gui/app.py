"""QApplication set-up shared by the `gui` command and the tests."""

from __future__ import annotations

import sys

import pyqtgraph as pg
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from srviewer.gui.resources import icon_path

_configured = False


def configure_pyqtgraph() -> None:
    global _configured
    if not _configured:
        pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
        _configured = True


def make_app(argv: list[str] | None = None) -> QApplication:
    configure_pyqtgraph()
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("srviewer")
    app.setOrganizationName("srviewer")
    icon = icon_path()
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app
