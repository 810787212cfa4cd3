"""`srviewer bench HR --sweep KEY=V1,V2,...`: the robustness sweep's table, JSON, CSV and plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from srviewer.errors import ImageWriteError


def run_sweep_command(args, sweep, names: list[str], registry) -> int:
    from srviewer.cli_jobs import _fmt, _json_safe
    from srviewer.core.atomic import atomic_write_json, atomic_write_text
    from srviewer.core.sweep import run_sweep, sweep_csv, sweep_plot

    out = Path(args.out) if args.out else None
    if out is not None:
        if out.exists() and not out.is_dir():
            raise ImageWriteError(f"{out} is a file: --out wants a folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageWriteError(f"{out}: cannot be the output folder ({exc.strerror or exc})") from None
    result = run_sweep(sweep, args.hr_dir, names, registry,
                       progress=lambda done, total, chain: print(f"sweep {done}/{total}: {chain}", file=sys.stderr))
    document = _json_safe(result.as_json())
    if out is not None:
        atomic_write_text(out / "sweep.csv", sweep_csv(result))
        atomic_write_json(out / "sweep.json", document | {"chains": [str(c) for c in result.chains]})
        labels = {n: getattr(registry.get(n), "label", "") or n for n in names}
        sweep_plot(result, out / "sweep.png", labels=labels)
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    key = result.key
    print(f"{'method':<12} {key:>8} {'PSNR-Y':>8} {'SSIM-Y':>8} {'sharp':>6}  chain")
    for name, series in result.methods.items():
        for i, value in enumerate(result.values):
            print(f"{name:<12} {value:>8g} {_fmt(series['psnr_y'][i], 2):>8} {_fmt(series['ssim_y'][i], 4):>8} "
                  f"{_fmt(series['sharpness'][i], 3):>6}  {result.chains[i]}")
    if out is not None:
        print(f"wrote {out / 'sweep.csv'}, {out / 'sweep.json'} and {out / 'sweep.png'}")
    return 0
