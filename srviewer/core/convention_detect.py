"""Settling a model's convention by running it on a small natural probe image.

What the file declares (input shape, dtype) narrows the candidates; what a sidecar or an override
states fixes a field outright. Every remaining combination of layout x channels x range is run on
the probe (a crop of scikit-image's chelsea, downscaled x2 with MATLAB's kernel: natural LR
content), and the one whose output agrees best with a bicubic upscale of the probe (PSNR) wins.
Candidates within TIE_DB of the best are a near-tie: the most common convention among them is
taken (NHWC, RGB, 0..1 first) and the tie is written into the evidence, never hidden. Output
heads are chosen by the scale asked for (else the largest); an output a few pixels larger than
the exact scale is cut (centre or end, whichever agrees better). The receptive radius is
measured by changing one probe pixel; the tile overlap is set from it.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np

from srviewer.core.model_conventions import (CHANNELS, LAYOUTS, MAX_OFF, RANGES, Convention, Predictor, cut_to,
                                             from_model_output, image_of, to_model_input)
from srviewer.errors import ModelFileError

TIE_DB = 0.5               # candidates this close (PSNR against bicubic, dB) are a near-tie
PROBE = (48, 56)           # probe size for models that take any size
MIN_OVERLAP, MAX_OVERLAP = 8, 48


@lru_cache(maxsize=8)
def probe_image(h: int, w: int) -> np.ndarray:
    """HxWx3 float32 RGB [0, 1]: the centre of chelsea downscaled x2 (reflected if h, w are larger)."""
    from srviewer.core.conventions import downscale
    from srviewer.core.images import sample_image, to_float

    lr = to_float(downscale(sample_image().rgb, 2, "matlab"))
    ph, pw = max(0, h - lr.shape[0]), max(0, w - lr.shape[1])
    if ph or pw:
        lr = np.pad(lr, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    top, left = (lr.shape[0] - h) // 2, (lr.shape[1] - w) // 2
    out = np.ascontiguousarray(lr[top:top + h, left:left + w])
    out.flags.writeable = False
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.clip(a, -4, 5) - b) ** 2))
    return 99.0 if mse == 0 else 10 * math.log10(1.0 / mse)


def _input_layouts(shape: tuple) -> tuple[list[str], str]:
    if len(shape) != 4:
        raise ModelFileError(f"the model's input has shape {_fmt(shape)}, not a batch of images (4 axes)")
    first, last = shape[1] in (1, 3), shape[3] in (1, 3)
    if last and not first:
        return ["nhwc"], f"input {_fmt(shape)} has its channels last"
    if first and not last:
        return ["nchw"], f"input {_fmt(shape)} has its channels first"
    if shape[1] is None and shape[3] is None or (first and last):
        return list(LAYOUTS), ""
    if shape[1] is None:
        return ["nchw"], f"input {_fmt(shape)}: only axis 1 can hold channels"
    if shape[3] is None:
        return ["nhwc"], f"input {_fmt(shape)}: only axis 3 can hold channels"
    raise ModelFileError(f"the model's input {_fmt(shape)} has no axis of 1 or 3 channels: not an image model")


def _fmt(shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _channel_count(shape: tuple, layout: str):
    return shape[1] if layout == "nchw" else shape[3]


def _fixed_size(shape: tuple, layout: str):
    h, w = (shape[2], shape[3]) if layout == "nchw" else (shape[1], shape[2])
    return (h, w) if isinstance(h, int) and isinstance(w, int) else None


def _heads(outs, conv: Convention, ih: int, iw: int) -> tuple[list[tuple], str]:
    """[(index, scale, off_h, off_w)] of the outputs that are images of the input's channel count."""
    want_c = 1 if conv.channels == "y" else 3
    heads, seen = [], []
    for i, out in enumerate(outs):
        arr = np.asarray(out)
        seen.append(_fmt(arr.shape))
        if arr.ndim not in (3, 4):
            continue
        img = image_of(arr, conv)
        oh, ow, c = img.shape
        if c != want_c or oh < ih or ow < iw:
            continue
        s = oh // ih
        if s != ow // iw or oh - s * ih > MAX_OFF or ow - s * iw > MAX_OFF:
            continue
        heads.append((i, s, oh - s * ih, ow - s * iw))
    return heads, ", ".join(seen)


def _choose_head(heads: list[tuple], names: list[str], wanted: int | None, fixed_output):
    if fixed_output is not None:
        for h in heads:
            if h[0] == int(fixed_output):
                return h, f"output {fixed_output} as stated"
        raise ModelFileError(f"output {fixed_output} is not an image output of this model")
    if len(heads) == 1:
        return heads[0], "the only image output"
    listing = ", ".join(f"{names[i] if i < len(names) else i} x{s}" for i, s, *_ in heads)
    for h in heads:
        if wanted and h[1] == wanted:
            return h, f"outputs {listing}: took {names[h[0]]!r}, the x{wanted} asked for"
    best = max(heads, key=lambda h: h[1])
    return best, f"outputs {listing}: none is x{wanted}; took the largest, {names[best[0]]!r}"


def _score(raw, conv: Convention, probe: np.ndarray, wanted, fixed_output, kernel: str):
    """Run one candidate; (score dB, conv filled in with scale/input/head/trim, notes) or an error string."""
    from srviewer.core.conventions import upscale_bicubic

    try:
        outs = raw.run(to_model_input(probe, conv, raw.inputs[0].dtype))
    except Exception as exc:  # noqa: BLE001 - a candidate the model rejects
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ''}"
    ih, iw = probe.shape[:2]
    heads, seen = _heads(outs, conv, ih, iw)
    if not heads:
        return ModelFileError(f"the model maps a {iw}x{ih} image to {seen}: not an upscale of it")
    names = [o.name for o in raw.outputs] or [str(i) for i in range(len(outs))]
    (index, s, dh, dw), head_why = _choose_head(heads, names, wanted, fixed_output)
    kind = "bicubic" if s == 1 else "lr"
    scale = (wanted or 4) if s == 1 else s
    ref = probe if s == 1 else upscale_bicubic(probe, s, kernel)
    img = image_of(outs[index], conv)
    best = None
    for trim in (("centre", "end") if (dh or dw) else (conv.trim,)):
        rgb = from_model_output(cut_to(img, ih * s, iw * s, trim), conv, ref)
        score = _psnr(rgb, ref)
        if best is None or score > best[0] + 1e-9:
            best = (score, trim)
    filled = Convention(conv.layout, conv.channels, conv.range, scale, kind, conv.fixed_size, index, best[1],
                        conv.overlap, dict(conv.evidence))
    filled.evidence["output"] = head_why
    filled.evidence["scale"] = f"{iw}x{ih} -> {img.shape[1]}x{img.shape[0]}: " + (
        f"same size, a model fed the bicubic upscale (x{scale})" if s == 1 else f"x{s}")
    if dh or dw:
        filled.evidence["trim"] = (f"{dh} rows, {dw} columns more than x{s}: cut {best[1]} "
                                   "(the better agreement with bicubic)")
    return best[0], filled


def detect(raw, fixed: dict, sources: dict, wanted: int | None, kernel: str = "matlab") -> Convention:
    """The convention of `raw` (formats.raw.RawModel). `fixed`: fields stated by the file, the sidecar
    or an override (Convention field names), `sources[field]` says which; the rest is found here."""
    shape = tuple(raw.inputs[0].shape) if raw.inputs else (None, None, None, None)
    layouts, layout_why = ([fixed["layout"]], sources.get("layout", "")) if "layout" in fixed else _input_layouts(shape)
    cands = []
    for layout in layouts:
        count = _channel_count(shape, layout) if len(shape) == 4 else None
        chans = [fixed["channels"]] if "channels" in fixed else (
            ["y"] if count == 1 else ["rgb", "bgr"] if count == 3 else list(CHANNELS))
        is_int = np.dtype(raw.inputs[0].dtype).kind in "ui" if raw.inputs else False
        ranges = [fixed["range"]] if "range" in fixed else (["0..255"] if is_int else list(RANGES))
        size = tuple(fixed["fixed_size"]) if fixed.get("fixed_size") else (_fixed_size(shape, layout) if len(shape) == 4 else None)
        for ch, rg in itertools.product(chans, ranges):
            cands.append(Convention(layout, ch, rg, fixed_size=size, trim=fixed.get("trim", "centre")))
    results, errors, refusal = [], [], None
    for conv in cands:
        probe = probe_image(*(conv.fixed_size or PROBE))
        got = _score(raw, conv, probe, wanted, fixed.get("output"), kernel)
        if isinstance(got, ModelFileError):
            refusal = refusal or got
        elif isinstance(got, str):
            errors.append(f"{conv.layout}/{conv.channels}/{conv.range}: {got}")
        else:
            results.append(got)
    if not results:
        if refusal is not None:
            raise refusal
        raise ModelFileError(f"the model does not run on an image in any convention tried ({errors[0] if errors else 'none'})")
    best_score = max(r[0] for r in results)
    tied = [r for r in results if r[0] >= best_score - TIE_DB]
    score, conv = tied[0]          # candidates are in order of preference: NHWC, RGB, 0..1 first
    conv.evidence.update(_field_evidence(results, conv, fixed, sources, layout_why, tied))
    conv.evidence["agreement"] = f"{score:.1f} dB PSNR against a bicubic upscale of the probe"
    for key, value in fixed.items():       # stated scale / input kind win over what the run suggests
        if key in ("scale", "input_kind") and value is not None:
            setattr(conv, key, int(value) if key == "scale" else value)
            conv.evidence[key] = f"{sources.get(key, 'stated')}: {value}"
    if conv.fixed_size:
        conv.evidence["fixed_size"] = (f"{sources['fixed_size']}: " if "fixed_size" in sources else "input shape: ") + \
            f"{conv.fixed_size[1]}x{conv.fixed_size[0]}, tiled at exactly that size"
    conv.overlap = int(fixed["overlap"]) if fixed.get("overlap") else _overlap(raw, conv, kernel)
    return conv


def _field_evidence(results, chosen: Convention, fixed, sources, layout_why, tied) -> dict:
    evidence = {}
    for name in ("layout", "channels", "range"):
        value = getattr(chosen, name)
        if name in fixed:
            evidence[name] = f"{sources.get(name, 'stated')}: {value}"
            continue
        per = {}
        for score, conv in results:
            key = getattr(conv, name)
            per[key] = max(per.get(key, -1e9), score)
        if len(per) == 1:
            evidence[name] = layout_why if name == "layout" and layout_why else (
                "the input has one channel: luma (Y)" if value == "y" else f"{value}: the only candidate")
            continue
        ranked = ", ".join(f"{k} {v:.1f} dB" for k, v in sorted(per.items(), key=lambda kv: -kv[1]))
        alike = {getattr(c, name) for _, c in tied}
        text = f"ran each: {ranked}"
        if len(alike) > 1:
            text += f"; NEAR-TIE ({' / '.join(sorted(alike))} within {TIE_DB} dB): took {value}, the common one; " \
                    f"state it with --model-{name} or the sidecar if that is wrong"
        evidence[name] = text
    return evidence


def _overlap(raw, conv: Convention, kernel: str) -> int:
    """LR context per tile side: 4/3 of the receptive radius measured by changing one probe pixel."""
    size = conv.fixed_size or PROBE
    probe = probe_image(*size).copy()
    changed = probe.copy()
    cy, cx = size[0] // 2, size[1] // 2
    changed[cy, cx] = 1.0 - changed[cy, cx]
    predictor = Predictor(raw, conv, "", kernel)
    try:
        diff = np.abs(predictor(changed) - predictor(probe)).max(axis=2)
    except Exception:  # noqa: BLE001 - the detection run worked, so this is not expected: keep the default
        return conv.overlap
    factor = 1 if conv.input_kind == "bicubic" else conv.scale
    ys, xs = np.nonzero(diff > 1e-6 * max(1.0, float(diff.max())))
    if ys.size == 0:
        radius = 1.0
    else:
        radius = max(abs(ys - cy * factor).max(), abs(xs - cx * factor).max()) / factor
    if conv.input_kind == "bicubic":
        radius = radius / conv.scale + 2      # model-input pixels -> LR, plus bicubic's own reach
    overlap = int(min(MAX_OVERLAP, max(MIN_OVERLAP, math.ceil(radius * 4 / 3) + 1)))
    reach = "reaches the probe's edge" if radius >= min(size) / 2 - 1 else f"{radius:.0f} LR pixels"
    conv.evidence["overlap"] = f"receptive radius {reach}: {overlap} LR pixels of tile context"
    return overlap
