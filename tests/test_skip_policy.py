"""CI fails on a skip that is not a documented optional extra; outside CI a skip is only reported."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

CONFTEST = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from skip_policy import pytest_runtest_logreport, pytest_sessionfinish, pytest_terminal_summary, skip_optional
"""
SKIPS = """
import pytest
from skip_policy import skip_optional

def test_passes():
    assert True

def test_needs_tfds():
    skip_optional("datasets", "tensorflow-datasets is not installed")
"""
PLAIN_SKIP = SKIPS + """
def test_hidden_by_importorskip():
    pytest.importorskip("a_module_that_is_not_there")
"""


def _run(tmp_path, body, ci):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_case.py").write_text(body)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_an_unexpected_skip_fails_ci_and_names_the_test(tmp_path):
    proc = _run(tmp_path, PLAIN_SKIP, "true")
    assert proc.returncode == 1, proc.stdout
    assert "skips CI does not accept" in proc.stdout and "test_hidden_by_importorskip" in proc.stdout
    assert "test_needs_tfds:" not in proc.stdout.split("skips CI does not accept")[1]


def test_optional_extra_skips_pass_ci_and_any_skip_passes_outside_ci(tmp_path):
    assert _run(tmp_path, SKIPS, "true").returncode == 0
    assert _run(tmp_path, PLAIN_SKIP, None).returncode == 0


def test_only_documented_extras_may_be_skipped():
    from skip_policy import skip_optional

    with pytest.raises(ValueError, match="not a documented optional extra"):
        skip_optional("tensorflow", "a hard dependency")
