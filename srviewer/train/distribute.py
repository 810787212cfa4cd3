"""How a training run spreads over devices: a `tf.distribute` strategy, logical CPU replicas, precision.

`--strategy` chooses TensorFlow's own engine, nothing of srviewer's:
    none         the default strategy: one device (the first GPU, else the CPU)
    auto         `MirroredStrategy` over the visible GPUs when there are two or more; over the
                 logical CPUs when `--cpu-replicas N` (N >= 2) made some; else `none`
    mirrored     `MirroredStrategy` over every visible GPU, or with none, over the logical CPUs
    multiworker  `MultiWorkerMirroredStrategy`, its cluster from the standard TF_CONFIG variable
                 (each worker runs the same command; task 0 of "chief", or else of "worker", is the chief)

`--cpu-replicas N` splits the host CPU into N logical devices. TensorFlow fixes its devices when it
first touches them, so `configure_cpu_replicas` runs before anything else in the process uses it.

The global batch (`--batch`) is split evenly: each replica trains on batch / replicas patches and
losses are summed over a replica's examples and divided by the global batch, so the gradients
Keras all-reduces (sums) over the replicas are those of the mean loss over the whole batch.

`--precision mixed` is the inference side's vocabulary (`tf_runtime.PRECISIONS`): 16-bit compute
(`tf_runtime.mixed_dtype`: float16 with loss scaling on a GPU, bfloat16 on CPU), float32
variables, and float32 outputs, losses and metrics.
"""

from __future__ import annotations

import json
import os

from srviewer.errors import DataError

STRATEGIES = ("auto", "none", "mirrored", "multiworker")


def configure_cpu_replicas(count: int) -> None:
    """Split the host CPU into `count` logical devices (no-op for 0 or 1). Must run before
    TensorFlow initialises its devices; a process that already did keeps what it has."""
    import tensorflow as tf

    if count <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        if have != count:
            raise DataError(f"--cpu-replicas {count}: TensorFlow already started in this process with "
                            f"{have} CPU device(s); run the training in a fresh process") from None


def tf_config() -> dict:
    """The parsed TF_CONFIG ({} when unset)."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"TF_CONFIG is not valid JSON ({exc.msg})") from None
    if not isinstance(value, dict) or "cluster" not in value or "task" not in value:
        raise DataError('TF_CONFIG must hold {"cluster": {...}, "task": {"type": ..., "index": ...}}')
    return value


def is_chief_process(strategy_name: str) -> bool:
    """Whether this process writes the run folder: always, except a multiworker worker that is not
    the chief (task 0 of the "chief" job, or of "worker" when there is no chief job). TF-free."""
    if strategy_name != "multiworker":
        return True
    config = tf_config()
    task = config.get("task", {})
    chief_job = "chief" if "chief" in config.get("cluster", {}) else "worker"
    return task.get("type") == chief_job and int(task.get("index", 0)) == 0


def make_strategy(name: str, cpu_replicas: int = 0, timeout_s: float | None = None):
    """The `tf.distribute.Strategy` for `--strategy NAME` (see the module docstring)."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise DataError(f"--strategy must be one of {', '.join(STRATEGIES)}, not {name!r}")
    if name == "multiworker":
        if not tf_config():
            raise DataError("--strategy multiworker needs TF_CONFIG (the cluster's workers and this "
                            "process's task), set the same on every worker")
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout_s)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    configure_cpu_replicas(cpu_replicas)
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "auto" and len(gpus) < 2 and (gpus or len(cpus) < 2):
        return tf.distribute.get_strategy()
    devices = [d.name for d in gpus] or [d.name for d in cpus]
    cross_device = None if gpus else tf.distribute.ReductionToOneDevice()
    return tf.distribute.MirroredStrategy(devices, cross_device_ops=cross_device)


def describe(strategy, name: str) -> dict:
    """What the `started` event says: {"strategy", "strategy_class", "replicas", "workers", "devices"}."""
    extended = strategy.extended
    try:
        devices = list(extended.worker_devices)
    except RuntimeError:       # the default strategy has no device list: it runs on the first device
        devices = []
    if not devices:
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        devices = [(gpus or tf.config.list_logical_devices("CPU"))[0].name]
    workers = len(tf_config().get("cluster", {}).get("worker", [])) + len(tf_config().get("cluster", {}).get("chief", [])) \
        if name == "multiworker" else 1
    return {"strategy": name, "strategy_class": type(strategy).__name__,
            "replicas": int(strategy.num_replicas_in_sync), "workers": max(workers, 1), "devices": devices}


def per_replica_batch(global_batch: int, replicas: int) -> int:
    if global_batch % replicas:
        raise DataError(f"--batch {global_batch} does not split over {replicas} replicas: use a multiple of {replicas}")
    return global_batch // replicas


def set_precision(precision: str) -> str:
    """Set Keras's global dtype policy for `precision` ("float32" or "mixed"); returns the compute dtype."""
    import keras

    from srviewer.core.tf_runtime import PRECISIONS, mixed_dtype

    if precision not in PRECISIONS:
        raise DataError(f"--precision must be {' or '.join(PRECISIONS)}, not {precision!r}")
    dtype = mixed_dtype() if precision == "mixed" else "float32"
    keras.mixed_precision.set_global_policy("float32" if dtype == "float32" else f"mixed_{dtype}")
    return dtype
