"""A GAN run's compact resumable state: 16-bit weights, factored Adam moments, one .npz."""

import json
import shutil

import numpy as np
import pytest

from srviewer.cli import main
from srviewer.errors import ModelFileError
from srviewer.train import compact_state
from srviewer.train.events import read_events
from gan_data import GAN, gan_start


def test_bf16_bits_round_to_nearest_even_by_hand():
    values = np.array([1.0, 1 + 2**-8, 1 + 3 * 2**-8, -2.0, 1e-10], np.float32)
    bits = compact_state.to_bf16_bits(values)
    # 1 = 0x3F80; 1+2^-8 is half-way between 0x3F80 and 0x3F81: to the even 0x3F80; 1+3*2^-8 to 0x3F82
    assert bits[:4].tolist() == [0x3F80, 0x3F80, 0x3F82, 0xC000]
    back = compact_state.from_bf16_bits(bits)
    assert back[2] == 1 + 2**-6 and abs(back[4] - 1e-10) / 1e-10 < 2**-8   # float32's range is kept


def test_factored_second_moment_by_hand():
    rows, cols = compact_state.factor(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    assert rows.tolist() == [3, 7] and cols.tolist() == [4, 6]
    # rows x cols / total: [[12, 18], [28, 42]] / 10
    np.testing.assert_allclose(compact_state.unfactor(rows, cols, (2, 2)), [[1.2, 1.8], [2.8, 4.2]], rtol=1e-6)
    # a conv kernel (3, 3, cin, cout) is seen as (9 * cin, cout); a rank-1 tensor comes back exactly
    v = np.outer(np.arange(1, 19), [1.0, 2.0, 0.5]).reshape(3, 3, 2, 3).astype(np.float32)
    np.testing.assert_allclose(compact_state.unfactor(*compact_state.factor(v), v.shape), v, rtol=1e-6)
    assert not compact_state.unfactor(np.zeros(2, np.float32), np.zeros(3, np.float32), (2, 3)).any()


@pytest.fixture
def gan_run(tmp_path):
    train, init = gan_start(tmp_path)
    run = tmp_path / "gan"
    assert main(["train", "srgan", "--data", str(train), "--init", str(init), "--steps", "12",
                 "--checkpoint-every", "12", "--out", str(run), *GAN]) == 0
    return run


def _trainer(run):
    from srviewer.train.sr_config import SRConfig
    from srviewer.train.sr_trainer import SRTrainer

    cfg = SRConfig.from_dict(json.loads((run / "config.json").read_text()))
    return SRTrainer(cfg, run, resumed=True)


def test_a_gan_run_resumes_from_its_compact_state_alone(gan_run):
    run = gan_run
    full = _trainer(run)                       # from the float32 TensorFlow checkpoint
    size = (run / compact_state.FILE).stat().st_size
    ckpt_bytes = sum(p.stat().st_size for p in (run / "checkpoints").glob("ckpt-12.*"))
    assert size < ckpt_bytes / 2.5             # 16-bit weights, no first moments, factored v
    expected = {name: [w.numpy() for w in model.weights]
                for name, model in (("g", full.generator), ("d", full.discriminator))}
    biggest = int(np.argmax([v.numpy().size for v in full.d_opt._velocities]))   # the dense layer's kernel
    velocity = full.d_opt._velocities[biggest].numpy()
    g_iters = int(full.g_opt.iterations.numpy())

    shutil.rmtree(run / "checkpoints")          # what the repository carries: config, state, compact state
    carried = _trainer(run)
    assert int(carried.step.numpy()) == 12 and int(carried.g_opt.iterations.numpy()) == g_iters == 12
    for name, model in (("g", carried.generator), ("d", carried.discriminator)):
        for want, got in zip(expected[name], model.weights):
            np.testing.assert_array_equal(got.numpy(), want.astype(np.float16).astype(np.float32))
    rebuilt = carried.d_opt._velocities[biggest].numpy()
    assert rebuilt.shape == velocity.shape and rebuilt.sum() == pytest.approx(velocity.sum(), rel=1e-3)
    assert not any(m.numpy().any() for m in carried.g_opt._momentums)   # first moments restart at zero
    del full, carried

    assert main(["train", "srgan", "--resume", str(run), "--steps", "30"]) == 0
    events = read_events(run)
    starts = [e for e in events if e["event"] == "started"]
    assert [s["step"] for s in starts] == [0, 12] and starts[1]["resumed"]
    content = {e["step"]: e["content_loss"] for e in events if e["event"] == "train"}
    assert sorted(content)[12] == 13                     # the next step after the stop
    before, after = np.mean([content[s] for s in range(1, 7)]), np.mean([content[s] for s in range(25, 31)])
    assert after < before * 0.9, (before, after)
    assert content[13] < content[1]                       # no jump back to the start's loss at the resume


def test_a_compact_state_of_another_model_is_refused_in_one_line(gan_run, tmp_path):
    run = gan_run
    shutil.rmtree(run / "checkpoints")
    config = json.loads((run / "config.json").read_text())
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(run / compact_state.FILE, other / compact_state.FILE)
    (other / "config.json").write_text(json.dumps(config | {"filters": 4}))
    with pytest.raises(ModelFileError, match="a different model"):
        _trainer(other)
