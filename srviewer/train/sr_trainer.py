"""The super-resolution trainer: SRCNN, FSRCNN, ESPCN, VDSR, SRResNet (pixel loss) and SRGAN
(content + adversarial).

One `SRTrainer` owns the generator (and for SRGAN the discriminator), their optimizers (Adam, or
SGD with momentum as in VDSR's paper, with its adjustable gradient clipping), a
`tf.train.Checkpoint` with the step and all optimizer state, and a `CheckpointManager` keeping the
last K. The learning rate is a piecewise-constant schedule of the optimizer's own iteration
count, so a resumed run continues the schedule where it stopped. A stop request (SIGINT,
SIGTERM, a STOP file in the run folder) is honoured after the current step: checkpoint, a
`finished` event with reason "stopped", exit 0.

Data in the graph: float32 NHWC RGB in [0, 1].
"""

from __future__ import annotations

import json
import math
import platform
import signal
import tempfile
import time
from pathlib import Path

import numpy as np

from srviewer.core.atomic import atomic_path, atomic_write_json
from srviewer.core.lineage import LABELS
from srviewer.errors import DataError, ModelFileError, SrviewerError
from srviewer.train.events import EventLog, print_progress
from srviewer.train.run_index import GENERATORS_DIR, generator_name
from srviewer.train.sr_config import SRConfig
from srviewer.train.sr_data import is_named_source, make_dataset
from srviewer.train import sr_tfds
from srviewer.train.sr_stream import load_for_training, make_sampler

STOP_FILE = "STOP"


class StopFlag:
    """Set by SIGINT/SIGTERM or by a STOP file in the run folder."""

    def __init__(self, run_dir: Path):
        self.run_dir, self.requested = Path(run_dir), False
        self._since = time.time()

    def clear_stale(self) -> bool:
        """Remove a STOP file left from before this process started (e.g. a run killed while
        stopping), so a resumed run does not stop after one step. Returns True if one was removed."""
        path = self.run_dir / STOP_FILE
        try:
            if path.stat().st_mtime < self._since - 1.0:
                path.unlink()
                return True
        except FileNotFoundError:
            pass
        return False

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                signal.signal(sig, self._on_signal)
            except ValueError:  # not the main thread (tests drive the trainer from a thread)
                pass

    def _on_signal(self, signum, frame) -> None:  # noqa: ARG002
        self.requested = True

    def check(self) -> bool:
        if (self.run_dir / STOP_FILE).exists():
            self.requested = True
        return self.requested


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _machine() -> str:
    import os

    return f"{platform.machine()} {os.cpu_count()} CPU threads, {platform.system()}"


class SRTrainer:
    def __init__(self, cfg: SRConfig, run_dir: Path, resumed: bool = False):
        import keras
        import tensorflow as tf

        from srviewer.core import models
        from srviewer.train import distribute

        # the strategy first: --cpu-replicas and TF_CONFIG must be seen before TensorFlow starts its devices
        self.strategy = distribute.make_strategy(cfg.strategy, cfg.cpu_replicas, cfg.worker_timeout or None)
        self.distribution = distribute.describe(self.strategy, cfg.strategy)
        self.replicas = self.distribution["replicas"]
        distribute.per_replica_batch(cfg.batch, self.replicas)
        self.chief = distribute.is_chief_process(cfg.strategy)
        previous_policy = keras.mixed_precision.global_policy()
        self.compute_dtype = distribute.set_precision(cfg.precision)     # for the models built below
        self.tf, self.cfg, self.resumed = tf, cfg, resumed
        self.ckpt_source = Path(run_dir)        # where checkpoints are restored from (shared by all workers)
        # only the chief writes the run folder; another worker writes its (collective) checkpoints to a
        # private temporary folder that is removed at the end (TensorFlow's multi-worker pattern)
        self.run_dir = Path(run_dir) if self.chief else Path(tempfile.mkdtemp(prefix="srviewer-worker-"))
        self.spec = cfg.generator_spec()
        keras.utils.set_random_seed(cfg.seed)
        self.events = EventLog(self.run_dir)
        with self.strategy.scope():
            self.generator = models.build(self.spec)
            schedule = self._schedule()
            self.g_opt = self._optimizer(keras.optimizers.SGD(schedule, momentum=cfg.momentum) if cfg.optimizer == "sgd"
                                         else keras.optimizers.Adam(schedule))
            self.g_opt.build(self.generator.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
            tracked = {"step": self.step, "generator": self.generator, "g_opt": self.g_opt}
            self.discriminator = self.content = None
            if cfg.kind == "srgan":
                from srviewer.train.gan_losses import build_discriminator

                self.discriminator = build_discriminator(cfg)
                self.d_opt = self._optimizer(keras.optimizers.Adam(schedule))
                self.d_opt.build(self.discriminator.trainable_variables)
                tracked |= {"discriminator": self.discriminator, "d_opt": self.d_opt}
                if cfg.content_loss == "vgg54":
                    self.content = models.vgg54()  # raises the clear offline message
            if self.spec["input"] == "bicubic":
                from srviewer.core.layers import BicubicUpsample

                self._bicubic = BicubicUpsample(cfg.scale)
            self.ckpt = tf.train.Checkpoint(**tracked)
        keras.mixed_precision.set_global_policy(previous_policy)     # the process's other models stay as they were
        if self.replicas > 1:
            self._synchronize_batch_norm()
        self.manager = tf.train.CheckpointManager(self.ckpt, str(self.run_dir / "checkpoints"), max_to_keep=cfg.keep)
        self.state_path = self.run_dir / "state.json"
        self.state = {"best_psnr_y": -math.inf, "best_step": None, "train_seconds": 0.0}
        from srviewer.train import compact_state

        source = self.ckpt_source        # every worker restores from the chief's folder
        latest = tf.train.latest_checkpoint(str(source / "checkpoints"))
        if latest or compact_state.exists(source):
            if latest:
                # a checkpoint holds one value per variable, whatever the replica count that wrote it
                self.ckpt.restore(latest).expect_partial()
            else:   # a GAN run carried without its checkpoints (train/compact_state.py)
                meta = compact_state.load(self, source / compact_state.FILE)
                self._say(f"resumed from {compact_state.FILE} at step {meta['step']} (weights in float16, "
                          f"optimizer slots {meta['slots']})")
            if (source / "state.json").exists():
                self.state.update(json.loads((source / "state.json").read_text()))
            best_json = source / "best.json"
            if best_json.exists():  # the exported best wins over a state.json that lags behind it
                best = json.loads(best_json.read_text()).get("val_scores", {}).get("psnr_y")
                if best is not None and best > self.state["best_psnr_y"]:
                    self.state["best_psnr_y"] = best
        elif cfg.kind == "srgan":
            self._load_init(cfg.init)
        self._step_fn = None

    def _synchronize_batch_norm(self) -> None:
        """Batch norm over several replicas takes its statistics over the global batch (Keras's
        `synchronized`, an all-reduce per layer), so a step is the same computation whatever the
        replica count; the saved weights do not change."""
        import keras

        for model in (self.generator, self.discriminator):
            for layer in (model._flatten_layers() if model is not None else ()):
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.synchronized = True

    def _optimizer(self, optimizer):
        """float16 compute needs loss scaling (its gradients underflow); bfloat16 and float32 do not."""
        if self.compute_dtype != "float16":
            return optimizer
        import keras

        return keras.optimizers.LossScaleOptimizer(optimizer)

    # -- set-up ---------------------------------------------------------------------------
    def _schedule(self):
        import keras

        cfg = self.cfg
        if not cfg.lr_boundaries:
            return cfg.lr
        values = [cfg.lr * cfg.lr_factor**i for i in range(len(cfg.lr_boundaries) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(list(cfg.lr_boundaries), values)

    def _load_init(self, init: str) -> None:
        path = Path(init)
        if path.is_dir():
            path = path / "best.weights.h5" if (path / "best.weights.h5").exists() else path / "latest.weights.h5"
        sidecar = path.with_name(path.name.replace(".weights.h5", ".json"))
        if not path.exists():
            raise ModelFileError(f"--init {init}: {path} not found (train an SRResNet first)")
        if sidecar.exists():
            kwargs = json.loads(sidecar.read_text()).get("kwargs", {})
            if kwargs != self.spec["kwargs"]:
                raise ModelFileError(f"--init {path} is a generator with {kwargs}, but this run "
                                     f"trains {self.spec['kwargs']}: pass the same --filters/--blocks/...")
        try:
            self.generator.load_weights(str(path))
        except Exception as exc:  # noqa: BLE001
            raise ModelFileError(f"--init {path} does not fit the generator: {exc}") from None

    def _per_example(self, a, b, loss: str):
        """Each example's mean pixel loss (shape (B,)), computed in float32 whatever the compute dtype."""
        tf = self.tf
        diff = tf.cast(a, tf.float32) - tf.cast(b, tf.float32)
        return tf.reduce_mean(tf.abs(diff) if loss == "l1" else tf.square(diff), axis=[1, 2, 3])

    def _average(self, per_example):
        """A replica's share of the mean over the global batch: its examples' sum / the global batch,
        so the sum over the replicas (what the optimizer all-reduces) is the whole batch's mean."""
        tf = self.tf
        per_example = tf.cast(per_example, tf.float32)
        if per_example.shape.rank > 1:
            per_example = tf.reduce_mean(per_example, axis=list(range(1, per_example.shape.rank)))
        return tf.nn.compute_average_loss(per_example, global_batch_size=self.cfg.batch)

    def _generator_input(self, lr):
        return self._bicubic(lr) if self.spec["input"] == "bicubic" else lr

    def _clipped(self, grads):
        """VDSR's adjustable gradient clipping (Kim et al. 2016, sec. 3.3): each gradient element within
        +-clip/lr for the current learning rate lr, so a gradient's own share of a step (lr * g) stays
        within `clip` however high the rate. Off (the gradients as they are) when `clip` is 0."""
        if not self.cfg.clip:
            return grads
        bound = self.cfg.clip / self.tf.cast(self.g_opt.learning_rate, self.tf.float32)
        return [self.tf.clip_by_value(g, -bound, bound) for g in grads]

    def _apply(self, optimizer, tape, loss, variables, clip: bool = False):
        """Gradients of a replica's loss applied by a (possibly loss-scaled) optimizer; Keras sums them
        over the replicas."""
        scaled = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
        grads = tape.gradient(scaled, variables)
        optimizer.apply_gradients(zip(self._clipped(grads) if clip else grads, variables))

    def _make_replica_step(self):
        """One replica's step on its share of the batch: {name: its share of the batch mean}."""
        tf, cfg = self.tf, self.cfg
        if cfg.kind != "srgan":
            def step(lr, hr):
                with tf.GradientTape() as tape:
                    sr = self.generator(self._generator_input(lr), training=True)
                    loss = self._average(self._per_example(sr, hr, cfg.loss))
                self._apply(self.g_opt, tape, loss, self.generator.trainable_variables, clip=True)
                return {"loss": loss}
            return step

        from srviewer.train.gan_losses import GanObjective

        objective = GanObjective(cfg, self.discriminator)

        def content_loss(sr, hr):
            if self.content is None:
                return self._per_example(sr, hr, cfg.content_loss)
            diff = tf.cast(self.content(sr), tf.float32) / 12.75 - tf.cast(self.content(hr), tf.float32) / 12.75
            return tf.reduce_mean(tf.square(diff), axis=[1, 2, 3])

        def step(lr, hr):
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                sr = self.generator(lr, training=True)
                c_loss = self._average(content_loss(sr, hr))
                # train/gan_losses.py: the recipe's terms, means over this replica's examples (RaGAN's
                # "mean over the batch" is this replica's); / replicas: its share of the global mean
                adversarial, d_loss, logs = objective(sr, hr)
                g_loss = c_loss + adversarial / self.replicas
                d_loss = d_loss / self.replicas
            self._apply(self.g_opt, g_tape, g_loss, self.generator.trainable_variables)
            self._apply(self.d_opt, d_tape, d_loss, self.discriminator.trainable_variables)
            return {"loss": g_loss, "content_loss": c_loss, "d_loss": d_loss,
                    **{k: v / self.replicas for k, v in logs.items() if k != "d_loss"}}
        return step

    def _make_step(self, jit: bool):
        """The step over all replicas (`strategy.run`), its values summed into the global batch's means."""
        tf, strategy = self.tf, self.strategy
        replica_step = self._make_replica_step()
        if jit:
            replica_step = tf.function(replica_step, jit_compile=True)

        def step(lr, hr):
            per_replica = strategy.run(replica_step, args=(lr, hr))
            return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for k, v in per_replica.items()}
        return tf.function(step)

    def distribute(self, dataset):
        """A dataset of global batches (lr, hr), each split over the replicas (per-replica batch =
        global / replicas), so a run sees the same batches on any number of local replicas. Several
        workers: each builds the same pipeline and keeps its share (tf.data's auto-sharding by data)."""
        return self.strategy.experimental_distribute_dataset(dataset)

    def train_step(self, lr, hr) -> dict:
        """One step on a distributed batch (from `distribute`); the step counter is not advanced."""
        return self._compiled_step(lr, hr)

    def _compiled_step(self, lr, hr):
        """The first call picks XLA when asked ("on"), or with "auto" where it is faster here
        (`tf_runtime.xla_is_faster`: 1.6x slower than oneDNN's kernels on an Intel AMX host) and
        it compiles; otherwise a plain graph. "auto" keeps a plain graph over several replicas."""
        if self._step_fn is None:
            auto_ok = self.replicas == 1 and self.cfg.xla == "auto"
            if self.cfg.xla == "on" or (auto_ok and self._xla_is_faster()):
                try:
                    fn = self._make_step(True)
                    out = fn(lr, hr)
                    self._step_fn = fn
                    return out
                except Exception as exc:  # noqa: BLE001 - XLA unsupported here: plain graph
                    if self.cfg.xla == "on":
                        raise
                    self._say(f"XLA unavailable ({type(exc).__name__}); using a plain graph")
            self._step_fn = self._make_step(False)
        return self._step_fn(lr, hr)

    def _xla_is_faster(self) -> bool:
        from srviewer.core.tf_runtime import xla_choice, xla_is_faster

        faster = xla_is_faster()
        choice = xla_choice()
        self._say(f"XLA {'on' if faster else 'off'} (auto: a conv block took {choice['xla_ms']:.1f} ms with XLA, "
                  f"{choice['plain_ms']:.1f} ms without)")
        return faster

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: StopFlag, validator=None) -> str:
        cfg, tf = self.cfg, self.tf
        start = int(self.step.numpy())
        if start >= cfg.steps:
            self.events.emit("finished", step=start, reason="done")
            return "done"
        degradation = cfg.degradation_spec()
        tfds_name = sr_tfds.matches(cfg.data, cfg.scale, cfg.kernel, degradation)
        if tfds_name:    # DIV2K's own MATLAB-bicubic LR, cropped on the fly by a tf.data pipeline
            dataset, images = sr_tfds.patch_dataset(tfds_name, cfg.scale, cfg.patch, cfg.batch, cfg.seed, start)
            skipped_files: list = []
        else:
            pairs = load_for_training(cfg.data, cfg.scale, cfg.kernel, cfg.patch)   # big folders: streamed
            sampler = make_sampler(pairs, cfg.patch, cfg.batch, cfg.seed, degradation=degradation)
            dataset, images, skipped_files = make_dataset(sampler, start), len(pairs.hr), pairs.skipped
        batches = iter(self.distribute(dataset))
        if stop.clear_stale():
            self._say("removed a STOP file left from before this run started")
        for leftover in self.run_dir.glob(".*.tmp*"):   # a killed process's atomic writes never finished
            leftover.unlink(missing_ok=True)
        skipped = [{"file": f, "reason": why} for f, why in skipped_files]
        self.events.emit("started", step=start, total_steps=cfg.steps, kind=cfg.kind, resumed=self.resumed,
                         images=images, skipped_images=len(skipped), skipped=skipped, machine=_machine(),
                         precision=cfg.precision, compute_dtype=self.compute_dtype, **self.distribution)
        d = self.distribution
        self._say(f"{cfg.kind}: step {start} of {cfg.steps}, {images} training images"
                  + (f", {len(skipped)} files skipped" if skipped else "")
                  + (f"; {d['strategy_class']} over {d['replicas']} replicas ({', '.join(d['devices'])}), "
                     f"{cfg.batch // d['replicas']} patches each" if d["replicas"] > 1 else ""))
        for item in skipped:
            self._say(f"skipped {item['file']}: {item['reason']}")
        if degradation is not None:
            self._say(f"training LR degraded per patch: {degradation.describe()}; validation {degradation.val}")
        reason, tick, tick_step, t_last = "done", time.perf_counter(), start, time.perf_counter()
        step = start
        while step < cfg.steps:
            try:
                lr_b, hr_b = next(batches)
                losses = self._compiled_step(lr_b, hr_b)
                step = int(self.step.assign_add(1).numpy())
            except tf.errors.OpError as exc:
                if self.cfg.strategy != "multiworker":
                    raise
                raise self._worker_lost(step, exc) from None
            now = time.perf_counter()
            self.state["train_seconds"] += now - t_last
            t_last = now
            if step % cfg.log_every == 0 or step == cfg.steps or step == start + 1:
                # the first step of a session includes tracing/compiling: its rate is not the pace
                rate = (step - tick_step) / max(now - tick, 1e-9)
                values = {k: float(v) for k, v in losses.items()}
                values["lr"] = float(tf.convert_to_tensor(self.g_opt.learning_rate))
                eta = (cfg.steps - step) / rate if rate > 0 else None
                self.events.emit("train", step=step, total_steps=cfg.steps, steps_per_s=round(rate, 4),
                                 eta_s=None if eta is None else round(eta), **values)
                self._say(f"step {step}/{cfg.steps} loss {values['loss']:.5f} ({rate:.2f} steps/s"
                          + (f", {_duration(eta)} left)" if eta is not None else ")"))
                tick, tick_step = now, step
            if validator is not None and self.chief and (step % cfg.val_every == 0 or step == cfg.steps):
                self.validate(validator, step)
            stopping = stop.check()
            if step % cfg.checkpoint_every == 0 or step == cfg.steps or stopping:
                self.save_checkpoint(step)
            if stopping and step < cfg.steps:
                reason = "stopped"
                break
        if (self.run_dir / STOP_FILE).exists():
            (self.run_dir / STOP_FILE).unlink()
        self.events.emit("finished", step=step, reason=reason)
        self._say(f"{cfg.kind}: {reason} at step {step}")
        self.close()
        return reason

    def close(self) -> None:
        """A worker that is not the chief removes its private folder."""
        if not self.chief:
            import shutil

            shutil.rmtree(self.run_dir, ignore_errors=True)

    def _worker_lost(self, step: int, exc: BaseException) -> SrviewerError:
        self.close()
        latest = self.tf.train.latest_checkpoint(str(self.ckpt_source / "checkpoints"))
        kept = f"the chief's checkpoint {Path(latest).name} is intact" if latest else "no checkpoint was written yet"
        import re

        text = re.sub(r"\{\{.*?\}\}\s*", "", str(exc)).strip()       # drop TensorFlow's op name
        first = text.splitlines()[0][:160] if text else ""
        return SrviewerError(f"multi-worker training lost a worker after step {step} ({type(exc).__name__}: {first}); "
                             f"{kept}: start every worker again with --resume {self.ckpt_source}")

    def _say(self, text: str) -> None:
        """A human progress line on stdout and in RUN/log.txt (append-only, like the events)."""
        print_progress(text)
        with open(self.run_dir / "log.txt", "a", encoding="utf-8") as handle:
            handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")

    def _float32_generator(self):
        """The generator with float32 outputs (mixed precision computes in 16 bits)."""
        if self.compute_dtype == "float32":
            return self.generator
        tf, generator = self.tf, self.generator
        return lambda x, training=False: tf.cast(generator(x, training=training), tf.float32)

    def validate(self, validator, step: int) -> dict:
        scores, outputs = validator.evaluate(self._float32_generator())
        self.events.emit("val", step=step, **scores)
        sample = Path("samples") / f"step_{step:06d}.png"
        validator.write_sample(self.run_dir / sample, outputs)
        self.events.emit("sample", step=step, path=str(sample))
        self._say(f"val step {step}: PSNR-Y {scores['psnr_y']:.3f} dB, SSIM-Y {scores['ssim_y']:.4f}")
        if self.cfg.keeps_generators:
            try:
                (self.run_dir / GENERATORS_DIR).mkdir(exist_ok=True)
                self.export_weights(generator_name(step), step, scores)
            except (OSError, self.tf.errors.OpError) as exc:
                raise self._write_failed(f"the generator of step {step}", exc) from None
        if scores["psnr_y"] > self.state["best_psnr_y"]:
            self.state.update(best_psnr_y=scores["psnr_y"], best_step=step, best_scores=scores)
            try:
                self.export_weights("best", step, scores)
                # at once, not at the next checkpoint: after a kill, a worse model must not replace it
                atomic_write_json(self.state_path, self.state)
            except (OSError, self.tf.errors.OpError) as exc:
                raise self._write_failed(f"the best weights of step {step}", exc) from None
        return scores

    def save_checkpoint(self, step: int) -> None:
        try:
            path = self.manager.save(checkpoint_number=step)
            self.export_weights("latest", step, None)
            if self.discriminator is not None:   # the GAN's state the repository can hold
                from srviewer.train import compact_state

                compact_state.save(self, self.run_dir / compact_state.FILE)
            atomic_write_json(self.state_path, self.state)
        except (OSError, self.tf.errors.OpError) as exc:   # a full disk, a read-only folder
            raise self._write_failed(f"the checkpoint of step {step}", exc) from None
        self.events.emit("checkpoint", step=step, path=str(Path(path).relative_to(self.run_dir)))

    def _write_failed(self, what: str, exc: BaseException) -> SrviewerError:
        """The one-line error for a failed write; removes TensorFlow's half-written checkpoint folder."""
        import shutil

        for leftover in (self.run_dir / "checkpoints").glob("*_temp"):
            shutil.rmtree(leftover, ignore_errors=True)
        reason = getattr(exc, "strerror", None) or str(exc).split("; ")[-1].split(" [Op:")[0].strip()
        latest = self.tf.train.latest_checkpoint(str(self.run_dir / "checkpoints"))
        kept = f"checkpoint {Path(latest).name} is intact" if latest else "no earlier checkpoint exists"
        return SrviewerError(f"could not write {what} in {self.run_dir} ({reason}); {kept}: free some space "
                             f"and continue with --resume {self.run_dir}")

    def export_weights(self, name: str, step: int, scores: dict | None) -> None:
        """RUN/NAME.weights.h5 + NAME.json: a generator the comparison window loads as a method."""
        with atomic_path(self.run_dir / f"{name}.weights.h5", suffix=".weights.h5") as tmp:
            self.generator.save_weights(str(tmp))
        sidecar = {"format": 1, "factory": self.spec["factory"], "kwargs": self.spec["kwargs"],
                   "scale": self.cfg.scale, "input": self.spec["input"],
                   "label": f"{LABELS[self.cfg.kind]} ({self.run_dir.name}, step {step})",
                   "kind": self.cfg.kind, "step": step, "kernel": self.cfg.kernel}
        if scores:
            sidecar["val_scores"] = scores
        atomic_write_json(self.run_dir / f"{name}.json", sidecar)


def check_data_readable(cfg: SRConfig) -> None:
    for item in cfg.data:
        if not is_named_source(item) and not Path(item).is_dir():
            raise DataError(f"training data folder {item} does not exist")
