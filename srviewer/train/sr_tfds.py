"""DIV2K the way users get it: `--data tfds:div2k/bicubic_x4` through a tf.data pipeline.

DIV2K's `bicubic_x4` LR images are MATLAB `imresize` bicubic x4 of the HR (the papers' protocol,
srviewer's `matlab` kernel), so the pipeline crops aligned pairs from the set's own `lr` and `hr`
features on the fly: LR `patch/4` at (y, x), HR `patch` at (4y, 4x), a random flip and 90-degree
rotation, CROPS_PER_IMAGE crops per decoded image, shuffled, batched to the global batch and
prefetched. Sets whose prepared files are under CACHE_BYTES are cached decoded in memory; bigger
ones (DIV2K's 3.5 GB) are read from tfds's prepared files each epoch (they are the cache).
Shuffling is seeded by (seed, start step), so a resumed run draws new patches.

Used when `--data` is one `tfds:NAME` whose name says `bicubic_x{scale}` and the run's kernel is
`matlab` without a degradation; any other tfds set goes through sr_data.load_tfds_pairs (HR only,
degraded once in memory). Offline and not prepared: sr_data.tfds_or_fail's one line, at once.
Batches: float32 NHWC RGB [0, 1], `lr` (B, p/s, p/s, 3), `hr` (B, p, p, 3).
"""

from __future__ import annotations

CROPS_PER_IMAGE = 4
CACHE_BYTES = 256 * 2**20
SHUFFLE_CROPS = 256


def matches(spec: list[str], scale: int, kernel: str, degradation) -> str | None:
    """The tfds name when `--data` is one set this pipeline serves exactly, else None."""
    names = [s[5:] for s in spec if str(s).startswith("tfds:")]
    if len(spec) != 1 or len(names) != 1 or kernel != "matlab" or degradation is not None:
        return None
    return names[0] if f"bicubic_x{scale}" in names[0] else None


def patch_dataset(name: str, scale: int, patch: int, batch: int, seed: int, start: int):
    """(dataset of (lr, hr) global batches, number of training images or None when the set does not say)."""
    import tensorflow as tf

    from srviewer.errors import DataError
    from srviewer.train.sr_data import tfds_or_fail

    tfds = tfds_or_fail(name)
    shuffle_seed = (seed * 1_000_003 + start) % 2**31
    try:
        ds, info = tfds.load(name, split="train", with_info=True, shuffle_files=True,
                             read_config=tfds.ReadConfig(shuffle_seed=shuffle_seed))
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"tfds:{name} could not be loaded ({exc}); pass --data FOLDER instead") from None
    try:
        split = info.splits["train"]
        images, size = int(split.num_examples), int(split.num_bytes or 0)
    except KeyError:                           # no split metadata (a mocked set): unknown, small
        images, size = None, 0
    if images == 0:
        raise DataError(f"tfds:{name} holds no images")
    q = patch // scale
    ds = ds.map(lambda ex: (ex["lr"], ex["hr"]), num_parallel_calls=tf.data.AUTOTUNE)
    if size < CACHE_BYTES:
        ds = ds.cache()
    ds = ds.repeat().shuffle(min(images or 64, 64), seed=shuffle_seed)

    def crops(index, pair):
        lr, hr = pair
        h, w = tf.shape(lr)[0], tf.shape(lr)[1]
        seed_of = lambda k: tf.stack([tf.cast(shuffle_seed, tf.int64), index * 3 + k])  # noqa: E731 - stateless
        ys = tf.random.stateless_uniform([CROPS_PER_IMAGE], seed_of(0), 0, h - q + 1, dtype=tf.int32)
        xs = tf.random.stateless_uniform([CROPS_PER_IMAGE], seed_of(1), 0, w - q + 1, dtype=tf.int32)
        turns = tf.random.stateless_uniform([CROPS_PER_IMAGE, 2], seed_of(2), 0, 4, dtype=tf.int32)

        def one(i):
            y, x = ys[i], xs[i]
            lr_p = lr[y:y + q, x:x + q]
            hr_p = hr[y * scale:(y + q) * scale, x * scale:(x + q) * scale]
            lr_p, hr_p = tf.cond(turns[i, 1] < 2, lambda: (lr_p, hr_p),
                                 lambda: (tf.reverse(lr_p, [1]), tf.reverse(hr_p, [1])))
            k = turns[i, 0]
            return (tf.image.rot90(lr_p, k), tf.image.rot90(hr_p, k))

        pairs = [one(i) for i in range(CROPS_PER_IMAGE)]
        return tf.data.Dataset.from_tensor_slices((tf.stack([p[0] for p in pairs]), tf.stack([p[1] for p in pairs])))

    def usable(lr, hr):
        return tf.logical_and(tf.shape(lr)[0] >= q, tf.shape(lr)[1] >= q)

    def to_float(lr, hr):
        lr = tf.ensure_shape(tf.cast(lr, tf.float32) / 255.0, (batch, q, q, 3))
        return lr, tf.ensure_shape(tf.cast(hr, tf.float32) / 255.0, (batch, patch, patch, 3))

    ds = (ds.filter(usable).enumerate().flat_map(crops).shuffle(SHUFFLE_CROPS, seed=shuffle_seed)
          .batch(batch, drop_remainder=True).map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
          .prefetch(tf.data.AUTOTUNE))
    return ds, images
