"""The layering contracts (pyproject.toml, [tool.importlinter]) hold, checked by import-linter.

import-linter reads every import statement, those inside functions included, so a lazy
`import PySide6` in the core or `import tensorflow` in a widget's method breaks a contract as
surely as one at the top of the file. What it cannot see is which modules the window loads at
start; a fresh interpreter tells that, and the contract's list must equal it.
"""

import json
import shutil
import subprocess
import sys
import tomllib

import grimp

from conftest import REPO

PYPROJECT = REPO / "pyproject.toml"
START_CONTRACT = "window-start-no-tf"
LINT = ("import sys\nfrom importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")


def _lint(folder):
    return subprocess.run([sys.executable, "-c", LINT], cwd=folder, capture_output=True, text=True, timeout=300)


def _contract(contract_id: str) -> dict:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["id"] == contract_id)


def test_the_layering_contracts_hold():
    proc = _lint(REPO)
    assert proc.returncode == 0 and "0 broken" in proc.stdout, proc.stdout + proc.stderr


def test_the_start_contract_lists_exactly_what_the_window_and_the_cli_load():
    code = ("import json, sys\nimport srviewer.gui.main_window, srviewer.cli\n"
            "print(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                       cwd=REPO, timeout=300).stdout.splitlines()[-1])
    assert not {"tensorflow", "keras"} & {m.split(".")[0] for m in loaded}
    ours = {m for m in loaded if m.split(".")[0] == "srviewer"}
    graph = grimp.build_graph("srviewer", include_external_packages=True)
    packages = {m for m in ours if graph.find_children(m)}
    contract = _contract(START_CONTRACT)
    listed = set(contract["source_modules"])
    assert listed == ours - packages, (f"add to the {START_CONTRACT} contract: {sorted(ours - packages - listed)}; "
                                       f"remove: {sorted(listed - ours)}")
    forbidden = set(contract["forbidden_modules"])
    for package in packages:   # a package's own __init__ (listing it would take in all its sub-modules)
        assert not {m.split(".")[0] for m in graph.find_modules_directly_imported_by(package)} & forbidden, package


def test_imports_inside_functions_break_the_contracts(tmp_path):
    """A copy of the package with three lazy imports that break one contract each."""
    shutil.copytree(REPO / "srviewer", tmp_path / "srviewer", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    lazy = {"core/metrics.py": "def _lazy_qt():\n    from PySide6.QtGui import QImage\n",
            "train/events.py": "def _lazy_gui():\n    from srviewer.gui import settings\n",
            "gui/compare_view.py": "def _lazy_tf():\n    import tensorflow\n"}
    for path, code in lazy.items():
        with open(tmp_path / "srviewer" / path, "a") as handle:
            handle.write("\n\n" + code)
    proc = _lint(tmp_path)
    out = proc.stdout
    assert proc.returncode == 1 and "3 broken" in out, out + proc.stderr
    assert "srviewer.core.metrics -> PySide6" in out
    assert "srviewer.train.events -> srviewer.gui.settings" in out
    assert "srviewer.gui.compare_view -> tensorflow" in out
