"""Size of an SRGAN run's resumable state at the shipped recipe's size (configs/srgan.json):
the TensorFlow checkpoint (float32 weights + both Adams) against train/compact_state.py's .npz.

    PYTHONPATH=. python benchmarks/compact_state_size.py
"""

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from srviewer.train import compact_state
    from srviewer.train.sr_config import SRConfig
    from srviewer.train.sr_trainer import SRTrainer

    values = json.loads((ROOT / "configs" / "srgan.json").read_text())
    values |= {"kind": "srgan", "init": str(ROOT / "weights" / "srresnet.weights.h5"), "data": ["unused"], "val": None}
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        trainer = SRTrainer(SRConfig.from_dict(values), run)
        ckpt = Path(trainer.manager.save(checkpoint_number=0))
        rows = [("TensorFlow checkpoint (float32, both Adams)",
                 sum(p.stat().st_size for p in ckpt.parent.glob(ckpt.name + ".*")))]
        for slots in compact_state.SLOT_MODES:
            rows.append((f"compact_state.npz, slots={slots}", compact_state.save(trainer, run / f"{slots}.npz", slots)))
        params = sum(int(w.numpy().size) for m in (trainer.generator, trainer.discriminator) for w in m.weights)
    print(f"SRGAN at configs/srgan.json: {params / 1e6:.1f} M model values")
    print(f"{'state':48s} {'MB':>8s}")
    for name, size in rows:
        print(f"{name:48s} {size / 1e6:8.1f}")


if __name__ == "__main__":
    sys.exit(main())
