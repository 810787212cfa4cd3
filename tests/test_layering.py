"""The core and the training engine never import Qt; start-up paths never import TensorFlow.

Each check runs in a fresh interpreter so modules imported by other tests cannot hide a leak.
"""

import pkgutil
import subprocess
import sys

import pytest

import srviewer.core
import srviewer.train

CORE_MODULES = sorted(
    f"{pkg.__name__}.{info.name}"
    for pkg in (srviewer.core, srviewer.train)
    for info in pkgutil.iter_modules(pkg.__path__)
)

# Modules on the way to the window (or to `srviewer --help`) must not pay TensorFlow's 4 s import.
TF_FREE_MODULES = [
    "srviewer.cli",
    "srviewer.core.images",
    "srviewer.core.conventions",
    "srviewer.core.metrics",
    "srviewer.core.methods",
    "srviewer.core.compare",
    "srviewer.gui.main_window",
]


def _imports_in_fresh_python(modules) -> set[str]:
    modules = [modules] if isinstance(modules, str) else list(modules)
    code = (
        "import importlib, sys, json\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_core_module_list_is_not_empty():
    assert "srviewer.core.images" in CORE_MODULES
    assert len(CORE_MODULES) > 5


def test_core_and_train_never_import_qt():
    # One interpreter for all of them: several import TensorFlow, which takes seconds each time.
    loaded = _imports_in_fresh_python(CORE_MODULES)
    assert not loaded & {"PySide6", "shiboken6", "pyqtgraph"}, "a core/train module pulls in Qt"


@pytest.mark.parametrize("module", TF_FREE_MODULES)
def test_startup_modules_do_not_import_tensorflow(module):
    loaded = _imports_in_fresh_python(module)
    assert "tensorflow" not in loaded and "keras" not in loaded, f"{module} imports TensorFlow"
