"""The augmentation experiment: one classifier trained once per augmentation variant.

`run_experiment(config)` trains ResNet50 (ImageNet weights when they can be had, else from
scratch, said in the log and in the `started` event's `pretrained`) or a tiny CNN with a new
softmax head, for each variant in turn (none, flip_brightness, cutmix, mixup) with the same seed,
batches, schedule and initial weights; validation is on un-augmented images. The run folder holds
config.json, events.jsonl (srviewer.train.events), log.txt, initial.weights.h5,
checkpoints/<variant>/ (augment_checkpoint), results.json, summary.md and accuracy.png.
A stop (the token, a STOP file in the run folder) finishes the batch, checkpoints and returns;
`resume=True` continues the variant, epoch and batch where it stopped.

Data path: Source batches (float32 RGB [0, 1]) -> augment_ops variant (numpy, in tf.data) ->
ResNet50 "caffe" preprocessing (x*255, RGB->BGR, minus the ImageNet means) -> model ->
softmax probabilities. Labels are one-hot (mixed by CutMix/MixUp); loss categorical cross-entropy;
accuracy = argmax(prediction) == argmax(label). TensorFlow is imported inside functions.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srviewer.core.atomic import atomic_path, atomic_write_json
from srviewer.core.cancel import CancelToken
from srviewer.errors import SrviewerError
from srviewer.train import augment_checkpoint as ckpt
from srviewer.train.augment_data import Source, open_source
from srviewer.train.augment_ops import VARIANTS, apply_variant, batch_rng, one_hot
from srviewer.train.augment_report import write_results
from srviewer.train.events import EventLog

IMAGENET_BGR_MEANS = (103.939, 116.779, 123.68)
NO_IMAGENET = "ImageNet weights could not be downloaded; training from scratch (weights=None)"


@dataclass
class AugmentConfig:
    data: str
    out: str
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))
    epochs: int = 3                     # ResNet50 from scratch, batch 16, this 2-core CPU: ~4.5 min/epoch
    batch: int = 16
    lr: float | None = None             # Adam; None: 1e-4 fine-tuning ImageNet weights, 3e-4 from scratch
    lr_schedule: str = "constant"       # constant | cosine (lr -> 0 over each variant's epochs x batches)
    alpha: float | None = None          # Beta(alpha, alpha); None: cutmix 1.0, mixup 0.2
    size: int = 224
    val_fraction: float = 0.2
    seed: int = 0
    model: str = "resnet50"             # resnet50 | small (from scratch, CPU-sized) | tiny (tests)
    weights: str = "imagenet"           # imagenet | none
    tta: bool = False                   # validation also on the flipped image, predictions averaged
    log_every: int = 5                  # a "train" event every N batches
    max_batches: int | None = None      # cap on batches per epoch (demos, benchmarks)
    xla: bool = False                   # compile the train step with XLA (jit_compile=True)

    @classmethod
    def from_dict(cls, values: dict) -> "AugmentConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


class _Log:
    """log.txt in the run folder plus a human line on stderr."""

    def __init__(self, run_dir: Path, stream=sys.stderr):
        self.path, self.stream = run_dir / "log.txt", stream

    def __call__(self, text: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}"
        with open(self.path, "a", encoding="utf-8") as handle:  # append-only log, like events.jsonl
            handle.write(line + "\n")
        if self.stream is not None:
            print(text, file=self.stream, flush=True)


# --- model --------------------------------------------------------------------------------------
def preprocess(images):
    """float32 RGB [0, 1] NHWC -> ResNet50 'caffe' input: BGR, 0..255 minus the ImageNet means."""
    import tensorflow as tf  # noqa: PLC0415

    return images[..., ::-1] * 255.0 - tf.constant(IMAGENET_BGR_MEANS, tf.float32)


def build_model(kind: str, num_classes: int, size: int, weights: str = "imagenet", log=print):
    """-> (keras model taking preprocessed NHWC input, returning softmax probabilities, pretrained)."""
    import keras  # noqa: PLC0415

    inputs = keras.Input((size, size, 3))
    pretrained = False
    if kind == "resnet50":
        base = None
        if weights == "imagenet":
            try:
                base = keras.applications.ResNet50(include_top=False, weights="imagenet", input_tensor=inputs)
                pretrained = True
            except Exception as exc:  # noqa: BLE001 - offline Keras raises a bare Exception
                log(f"{NO_IMAGENET} ({(str(exc).splitlines() or [type(exc).__name__])[0][:300]})")
        if base is None:
            base = keras.applications.ResNet50(include_top=False, weights=None, input_tensor=inputs)
        features = base.output
    elif kind == "tiny":
        if weights == "imagenet":
            log("the tiny model has no ImageNet weights; training from scratch (weights=None)")
        x = keras.layers.Rescaling(1.0 / 64.0)(inputs)
        for filters in (16, 32):
            x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
        features = x
    elif kind == "small":
        # a from-scratch CNN that fits a CPU: 4 stages of 2 x (3x3 conv, batch norm, ReLU) + 2x2 max
        # pooling, 32-64-128-256 filters (1.2 M weights; ~0.2 GFLOP an image forward at 64 px)
        if weights == "imagenet":
            log("the small model has no ImageNet weights; training from scratch (weights=None)")
        x = keras.layers.Rescaling(1.0 / 64.0)(inputs)
        for filters in (32, 64, 128, 256):
            for _ in range(2):
                x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
                x = keras.layers.BatchNormalization()(x)
                x = keras.layers.ReLU()(x)
            x = keras.layers.MaxPooling2D(2, padding="same")(x)
        features = x
    else:
        raise SrviewerError(f"unknown model {kind!r}; choose resnet50, small or tiny")
    x = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=f"{kind}_classifier"), pretrained


# --- the experiment -----------------------------------------------------------------------------
class _Trainer:
    def __init__(self, config: AugmentConfig, source: Source, model, log):
        import keras  # noqa: PLC0415
        import tensorflow as tf  # noqa: PLC0415

        self.config, self.source, self.model, self.log = config, source, model, log
        self.optimizer = keras.optimizers.Adam(learning_rate(config, self.batches_per_epoch()))
        self.optimizer.build(model.trainable_variables)
        self.initial_optimizer = [v.numpy() for v in self.optimizer.variables]
        self.initial_weights = model.get_weights()
        loss_fn = keras.losses.CategoricalCrossentropy(reduction="none")
        spec = tf.TensorSpec([None, config.size, config.size, 3], tf.float32)
        label_spec = tf.TensorSpec([None, source.num_classes], tf.float32)

        def correct(y, p):
            return tf.reduce_sum(tf.cast(tf.equal(tf.argmax(y, -1), tf.argmax(p, -1)), tf.float32))

        @tf.function(input_signature=[spec, label_spec], jit_compile=bool(config.xla))
        def train_step(x, y):
            with tf.GradientTape() as tape:
                p = model(x, training=True)
                loss = tf.reduce_mean(loss_fn(y, p))
            grads = tape.gradient(loss, model.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss, correct(y, p)

        @tf.function(input_signature=[spec, label_spec])
        def eval_step(x, y):
            p = model(x, training=False)
            if config.tta:
                p = 0.5 * (p + model(x[:, :, ::-1, :], training=False))
            return tf.reduce_sum(loss_fn(y, p)), correct(y, p)

        self.train_step, self.eval_step = train_step, eval_step

    def reset(self) -> None:
        """Same initial weights and a fresh optimizer (its step count too) for the next variant."""
        self.model.set_weights(self.initial_weights)
        for var, value in zip(self.optimizer.variables, self.initial_optimizer):
            var.assign(value)

    def batches_per_epoch(self) -> int:
        n = self.source.batches_per_epoch(self.config.batch)
        return min(n, self.config.max_batches) if self.config.max_batches else n

    def train_dataset(self, variant: str, epoch: int, skip: int):
        import tensorflow as tf  # noqa: PLC0415

        cfg, num_classes = self.config, self.source.num_classes
        ds = self.source.train_batches(epoch, cfg.batch, cfg.seed, skip_batches=skip)
        ds = ds.take(self.batches_per_epoch() - skip)

        def augment(index, images, labels):
            rng = batch_rng(cfg.seed, epoch, int(index))
            out, mixed, _ = apply_variant(variant, images, one_hot(labels, num_classes), rng, cfg.alpha)
            return out.astype(np.float32), mixed.astype(np.float32)

        def mapped(index, batch):
            x, y = tf.numpy_function(augment, [index, batch[0], batch[1]], [tf.float32, tf.float32])
            x.set_shape([None, cfg.size, cfg.size, 3])
            y.set_shape([None, num_classes])
            return preprocess(x), y

        ds = ds.enumerate(start=skip).map(mapped, num_parallel_calls=1, deterministic=True)
        return ds.prefetch(tf.data.AUTOTUNE)

    def evaluate(self) -> tuple[float, float]:
        import tensorflow as tf  # noqa: PLC0415

        loss_sum = correct = count = 0.0
        num_classes = self.source.num_classes
        for images, labels in self.source.val_batches(self.config.batch).prefetch(tf.data.AUTOTUNE):
            y = tf.one_hot(labels, num_classes)
            loss, right = self.eval_step(preprocess(images), y)
            loss_sum, correct, count = loss_sum + float(loss), correct + float(right), count + int(labels.shape[0])
        return loss_sum / max(count, 1), correct / max(count, 1)


LR_SCHEDULES = ("constant", "cosine")


def learning_rate(config: AugmentConfig, batches_per_epoch: int):
    """Adam's learning rate: config.lr (resolved, not None, by _run), or a cosine decay from it to 0
    over one variant's epochs x batches; the optimizer's step count (reset per variant, saved in
    its checkpoints) drives the schedule, so a resumed variant goes on where it stopped."""
    import keras  # noqa: PLC0415

    if config.lr_schedule == "constant":
        return config.lr
    if config.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(config.lr, decay_steps=max(1, config.epochs * batches_per_epoch))
    raise SrviewerError(f"unknown learning-rate schedule {config.lr_schedule!r}; choose {' or '.join(LR_SCHEDULES)}")


def _stop_requested(run_dir: Path, stop: CancelToken) -> bool:
    if (run_dir / "STOP").exists():
        (run_dir / "STOP").unlink(missing_ok=True)  # honoured once, so --resume can go on
        stop.cancel()
    return stop.cancelled


def run_experiment(config: AugmentConfig, resume: bool = False, stop: CancelToken | None = None,
                   echo=None, log_stream=sys.stderr) -> dict:
    """Train every variant of `config` (or continue a stopped run) -> {"reason", "results"?}.

    With resume=True, `config` is merged over the run's config.json by the caller (see
    `load_run_config`). Returns {"reason": "done", "results": {...}} or {"reason": "stopped"}.
    """
    stop = stop or CancelToken()
    run_dir = Path(config.out)
    if not resume and (run_dir / "events.jsonl").exists():
        raise SrviewerError(f"{run_dir} already holds a run; use --resume {run_dir} or a new --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "STOP").unlink(missing_ok=True)
    events, log = EventLog(run_dir, echo=echo), _Log(run_dir, log_stream)
    try:
        return _run(config, resume, stop, run_dir, events, log)
    except Exception as exc:
        events.emit("error", message=str(exc) or type(exc).__name__)
        raise


def _run(config, resume, stop, run_dir, events, log) -> dict:
    atomic_write_json(run_dir / "config.json", {"kind": "augment", **dataclasses.asdict(config)})
    source = open_source(config.data, size=config.size, val_fraction=config.val_fraction, seed=config.seed)
    import keras  # noqa: PLC0415 - after the data checks, so a data error is reported at once
    log(f"data: {source.description}: {source.num_classes} classes, {source.train_size} train / "
        f"{source.val_size} val images")
    keras.utils.set_random_seed(config.seed)
    initial = run_dir / "initial.weights.h5"
    meta_path = run_dir / "model.json"
    if resume and initial.exists() and meta_path.exists():
        model, _ = build_model(config.model, source.num_classes, config.size, "none", log)
        model.load_weights(str(initial))
        pretrained = bool(json.loads(meta_path.read_text())["pretrained"])
    else:
        model, pretrained = build_model(config.model, source.num_classes, config.size, config.weights, log)
        with atomic_path(initial, suffix=".weights.h5") as tmp:
            model.save_weights(str(tmp))
        atomic_write_json(meta_path, {"model": config.model, "pretrained": pretrained,
                                      "classes": source.classes, "size": config.size})
    if config.lr is None:
        # from scratch, 1e-3 blew the loss up to ~10 in the first batches; 3e-4 did not (14 batches measured)
        config = dataclasses.replace(config, lr=1e-4 if pretrained else 3e-4)
        log(f"learning rate {config.lr:g} ({'fine-tuning ImageNet weights' if pretrained else 'from scratch'})")
    trainer = _Trainer(config, source, model, log)
    per_epoch = trainer.batches_per_epoch()
    total = per_epoch * config.epochs * len(config.variants)
    start_step = 0
    for number, variant in enumerate(config.variants if resume else []):
        saved = ckpt.read_state(run_dir, variant)
        if saved:
            start_step = max(start_step, number * per_epoch * config.epochs + int(saved.get("step", 0)))
    events.emit("started", step=start_step, total_steps=total, kind="augment", resumed=bool(resume),
                pretrained=pretrained, model=config.model, variants=config.variants, epochs=config.epochs,
                batches_per_epoch=per_epoch, classes=source.num_classes, lr=config.lr,
                lr_schedule=config.lr_schedule)
    histories: dict[str, list[dict]] = {}
    for number, variant in enumerate(config.variants):
        offset = number * per_epoch * config.epochs  # event steps count over all variants
        state = ckpt.read_state(run_dir, variant) if resume else None
        if state and state["done"] and state["epoch"] >= config.epochs:
            histories[variant] = state["history"][: config.epochs]
            continue
        trainer.reset()
        if state and state["generation"]:
            ckpt.load(run_dir, state, model, trainer.optimizer)
            log(f"{variant}: resuming at epoch {state['epoch'] + 1}, batch {state['batch']}")
        state = {**(state or ckpt.fresh_state(variant)), "done": False}
        if _train_variant(trainer, state, run_dir, events, log, stop, offset) == "stopped":
            events.emit("finished", step=offset + state["step"], reason="stopped", variant=variant,
                        epoch=state["epoch"] + 1, batch=state["batch"])
            log(f"stopped during {variant}; continue with --resume {run_dir}")
            return {"reason": "stopped"}
        histories[variant] = state["history"]
    meta = {"model": config.model, "pretrained": pretrained, "data": source.description,
            "classes": source.classes, "epochs": config.epochs, "batch": config.batch, "lr": config.lr,
            "lr_schedule": config.lr_schedule,
            "seed": config.seed, "tta": config.tta}
    results = write_results(run_dir, histories, meta)
    events.emit("finished", step=total, reason="done", results="results.json", plot="accuracy.png")
    log((run_dir / "summary.md").read_text(encoding="utf-8"))
    return {"reason": "done", "results": results}


def _train_variant(trainer: _Trainer, state: dict, run_dir, events, log, stop, offset: int) -> str:
    """Train one variant from `state` (mutated in place) to the last epoch -> "done" | "stopped".

    state["step"] counts this variant's batches; events say offset + that (the run's step).
    """
    cfg = trainer.config
    variant, per_epoch = state["variant"], trainer.batches_per_epoch()
    events.emit("variant", variant=variant, epoch=state["epoch"] + 1, batch=state["batch"])
    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"] + 1
        sums, started, session = state["sums"], time.time(), 0
        for index, (x, y) in enumerate(trainer.train_dataset(variant, epoch, state["batch"]), start=state["batch"]):
            loss, right = trainer.train_step(x, y)
            n = int(y.shape[0])
            sums["loss"] += float(loss) * n
            sums["correct"] += float(right)
            sums["count"] += n
            state["batch"], session = index + 1, session + 1
            state["step"] = state["epoch"] * per_epoch + state["batch"]
            if state["batch"] % max(1, cfg.log_every) == 0 or state["batch"] == per_epoch:
                events.emit("train", variant=variant, epoch=epoch, batch=state["batch"], batches=per_epoch,
                            step=offset + state["step"], loss=float(loss),
                            accuracy=sums["correct"] / max(sums["count"], 1),
                            steps_per_s=session / max(time.time() - started, 1e-9))
            if _stop_requested(run_dir, stop) and state["batch"] < per_epoch:
                path = ckpt.save(run_dir, state, trainer.model, trainer.optimizer)
                state["generation"] += 1
                events.emit("checkpoint", step=offset + state["step"], variant=variant, epoch=epoch,
                            batch=state["batch"], path=str(path.relative_to(run_dir)))
                return "stopped"
        val_loss, val_acc = trainer.evaluate()
        record = {"epoch": epoch, "loss": sums["loss"] / max(sums["count"], 1),
                  "accuracy": sums["correct"] / max(sums["count"], 1), "val_loss": val_loss,
                  "val_accuracy": val_acc, "seconds": round(time.time() - started, 2)}
        events.emit("epoch", variant=variant, step=offset + epoch * per_epoch, **record)
        log(f"{variant} epoch {epoch}/{cfg.epochs}: loss {record['loss']:.4f} acc {record['accuracy']:.3f} "
            f"val_loss {val_loss:.4f} val_acc {val_acc:.3f} ({record['seconds']:.0f} s)")
        state["history"].append(record)
        state.update(epoch=epoch, batch=0, sums={"loss": 0.0, "correct": 0.0, "count": 0},
                     step=epoch * per_epoch)
        path = ckpt.save(run_dir, state, trainer.model, trainer.optimizer)
        state["generation"] += 1
        events.emit("checkpoint", step=offset + state["step"], variant=variant, epoch=epoch, batch=0,
                    path=str(path.relative_to(run_dir)))
        if epoch == cfg.epochs:
            ckpt.mark_done(run_dir, state)
            state["done"] = True
        elif _stop_requested(run_dir, stop):
            return "stopped"
    return "done"


RESUME_OVERRIDES = ("epochs", "log_every", "tta")  # what a resumed run may change


def load_run_config(run_dir, overrides: dict | None = None) -> AugmentConfig:
    """The config.json of a run folder, with `overrides` applied.

    Only RESUME_OVERRIDES may differ from the saved config (e.g. more epochs); another setting
    given with a different value (batch, data, variants...) would break the batch order the
    checkpoints point into, and raises SrviewerError.
    """
    path = Path(run_dir) / "config.json"
    if not path.exists():
        raise SrviewerError(f"{run_dir} is not an augmentation run folder (no config.json)")
    values = json.loads(path.read_text(encoding="utf-8"))
    for key, value in (overrides or {}).items():
        if value is None or key == "out":
            continue
        if key not in RESUME_OVERRIDES and values.get(key) != value:
            flag = "--" + key.replace("_", "-")
            raise SrviewerError(f"{flag} cannot change when resuming (the run has {values.get(key)!r}); "
                                f"only --epochs, --log-every and --tta can")
        values[key] = value
    values["out"] = str(run_dir)
    return AugmentConfig.from_dict(values)
