"""Multi-worker training on this machine: two worker processes on 127.0.0.1 with TF_CONFIG
(`--strategy multiworker`, TensorFlow's MultiWorkerMirroredStrategy). Every wait is bounded: a
process still running at its deadline is killed and the test fails."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from srviewer.cli import main
from srviewer.core.images import write_image
from srviewer.train.events import read_events

DEADLINE = 420          # seconds for two TensorFlow processes to start and train a few steps on 2 shared cores


@pytest.fixture
def train_dir(tmp_path):
    folder = tmp_path / "train"
    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(folder / f"img_{i}.png", rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
    return folder


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start_workers(tmp_path, train_dir, run, steps):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), TF_CPP_MIN_LOG_LEVEL="2",
                   CUDA_VISIBLE_DEVICES="", TF_CONFIG=json.dumps({"cluster": cluster,
                                                                   "task": {"type": "worker", "index": index}}))
        cmd = [sys.executable, "-m", "srviewer", "train", "srresnet", "--data", str(train_dir), "--val", "none",
               "--steps", str(steps), "--batch", "4", "--patch", "24", "--filters", "8", "--blocks", "1",
               "--no-batch-norm", "--xla", "off", "--log-every", "1", "--checkpoint-every", "2",
               "--strategy", "multiworker", "--worker-timeout", "30", "--out", str(run)]
        out = open(tmp_path / f"worker{index}.log", "w")
        procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        out.close()
    return procs


def _wait_all(procs, deadline):
    """Each process's exit code; any process still running at the deadline is killed and the test fails."""
    codes = []
    try:
        for proc in procs:
            codes.append(proc.wait(timeout=max(1.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        pytest.fail("a worker did not end on its own in time")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    return codes


def test_two_workers_train_and_a_single_device_run_continues_the_chiefs_checkpoint(tmp_path, train_dir):
    run = tmp_path / "run"
    procs = _start_workers(tmp_path, train_dir, run, steps=4)
    assert _wait_all(procs, time.monotonic() + DEADLINE) == [0, 0], (tmp_path / "worker1.log").read_text()[-1500:]
    events = read_events(run)
    starts = [e for e in events if e["event"] == "started"]
    assert len(starts) == 1                            # only the chief writes events
    assert starts[0]["strategy"] == "multiworker" and starts[0]["replicas"] == 2 and starts[0]["workers"] == 2
    assert [e["step"] for e in events if e["event"] == "train"] == [1, 2, 3, 4]
    assert [e["step"] for e in events if e["event"] == "checkpoint"] == [2, 4]
    assert "srresnet: done at step 4" in (tmp_path / "worker1.log").read_text()   # the other worker finished too

    assert main(["train", "srresnet", "--resume", str(run), "--steps", "6", "--strategy", "none"]) == 0
    resumed = [e for e in read_events(run) if e["event"] == "started"][-1]
    assert (resumed["step"], resumed["replicas"], resumed["resumed"]) == (4, 1, True)
    assert [e["step"] for e in read_events(run) if e["event"] == "train"][-2:] == [5, 6]


@pytest.mark.parametrize("dies", [1, 0])
def test_when_one_worker_dies_the_other_ends_with_one_line(tmp_path, train_dir, dies):
    run = tmp_path / "run"
    procs = _start_workers(tmp_path, train_dir, run, steps=100000)
    deadline = time.monotonic() + DEADLINE
    try:
        while not any(e["event"] == "train" and e["step"] >= 3 for e in read_events(run)):
            assert all(p.poll() is None for p in procs), "a worker ended before training"
            assert time.monotonic() < deadline, "the workers did not reach step 3 in time"
            time.sleep(1)
        os.kill(procs[dies].pid, signal.SIGKILL)
    except BaseException:
        _wait_all([p for p in procs if p.kill() or True], time.monotonic() + 30)
        raise
    survivor = procs[1 - dies]
    [code] = _wait_all([survivor], time.monotonic() + 180)
    procs[dies].wait(timeout=30)
    assert code == 2
    lines = (tmp_path / f"worker{1 - dies}.log").read_text().strip().splitlines()
    assert lines[-1].startswith("srviewer: error: multi-worker training lost a worker after step ")
    assert "start every worker again with --resume" in lines[-1]
    assert sum("srviewer: error" in line for line in lines) == 1
    if dies == 1:   # the surviving chief wrote why it ended
        assert read_events(run)[-1]["event"] == "error"
