"""What a model-format loader returns: the file loaded and run exactly as stored, nothing converted.

A loader (one module per format in this package) knows how to open its files and run them; it
does not know srviewer's conventions. `model_conventions` turns a RawModel into the Predictor the
rest of srviewer uses (HxWx3 float32 RGB [0, 1] in, (H*s)x(W*s)x3 out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class TensorInfo:
    """One input or output as the file declares it; None for a size the file leaves open."""
    name: str
    shape: tuple[int | None, ...]
    dtype: str                       # numpy's name: "float32", "uint8", ...


@dataclass
class LoadOptions:
    trust_code: bool = False         # --trust-model-code: run code or file I/O the file carries
    scale: int | None = None         # the scale asked for (to choose an output head)


@dataclass
class RawModel:
    """The file loaded and run exactly as stored, nothing converted.

    `run(x)`: one input array in the file's own layout and dtype, batch axis included (e.g.
    1x3xHxW float32 for an NCHW ONNX export), -> every output as a numpy array, in `outputs` order.
    """
    format: str
    run: Callable[[np.ndarray], list[np.ndarray]]
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    device: str                      # e.g. "CPU", "CUDA (onnxruntime)", or TensorFlow's device_description()
    params: int | None = None
    notes: list[str] = field(default_factory=list)
    keras_model: object | None = None   # Keras only: keeps tf_runtime.make_predictor's fast path/XLA
    folded: object | None = None        # an sr_resnet's checked folded weights (sr_resnet_inference.Folded):
    #                                     what make_predictor runs; kept ones come without a keras_model
    # What the file itself states about its convention (srviewer's own files state all of it):
    # keys among "layout", "channels", "range", "scale", "input_kind", "label". Detection settles
    # what is missing; a sidecar or an override beats both.
    declared: dict = field(default_factory=dict)
