"""Under CI (`CI=true`), a skipped test fails the run unless it needs a documented optional extra.

A skip hides a broken install as well as a missing feature, and a skip does not fail CI by
itself. So the project's own modules and its hard dependencies (TensorFlow, Keras, PySide6,
pytest-qt, ...) are imported plainly, and the only skip CI accepts is `skip_optional(EXTRA, why)`
for an extra listed in `OPTIONAL_EXTRAS` (pyproject's `[project.optional-dependencies]` that the
test extra does not install). Outside CI a skip is reported as usual.
"""

from __future__ import annotations

import os

import pytest

OPTIONAL_EXTRAS = {
    "datasets": "tensorflow-datasets (tfds:NAME training data)",
    "gpu": "a CUDA GPU (tensorflow[and-cuda])",
}
_PREFIX = "optional extra "
_unexpected: list[tuple[str, str]] = []


def strict() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def skip_optional(extra: str, why: str) -> None:
    """Skip a test that needs the optional extra `extra` (one of OPTIONAL_EXTRAS)."""
    if extra not in OPTIONAL_EXTRAS:
        raise ValueError(f"{extra!r} is not a documented optional extra: {sorted(OPTIONAL_EXTRAS)}")
    pytest.skip(f"{_PREFIX}[{extra}]: {why}")


def _reason(report) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail") and strict():
        reason = _reason(report)
        if not reason.startswith(_PREFIX):
            _unexpected.append((report.nodeid, reason))


def pytest_terminal_summary(terminalreporter):
    if _unexpected:
        terminalreporter.section("skips CI does not accept (CI=true)", red=True)
        for nodeid, reason in _unexpected:
            terminalreporter.line(f"{nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if _unexpected and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
