"""`srviewer upscale FOLDER --method NAME -o OUTDIR`: one method over every image of a folder.

Each file of FOLDER (not its sub-folders, not hidden files) becomes OUTDIR/STEM_x4_NAME.png
(alpha and 16-bit kept). Unreadable files are skipped and named, and the run goes on. An output
that exists is kept, not redone (writes are atomic, so an existing output is a finished one): run
the same command again after an interruption and it resumes; --overwrite redoes them. Exit
status 0, or 2 when some files could not be upscaled (they are named on stderr and at the end).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from srviewer.errors import ImageWriteError, SrviewerError


def output_names(files: list[Path], method: str) -> dict[Path, str]:
    """STEM_x4_METHOD.png per input; stems shared by several inputs keep their extension
    (photo.jpg, photo.png -> photo_jpg_x4_..., photo_png_x4_...)."""
    stems = Counter(f.stem for f in files)
    names = {}
    for f in files:
        stem = f.stem if stems[f.stem] == 1 else f"{f.stem}_{f.suffix.lstrip('.') or 'noext'}"
        names[f] = f"{stem}_x4_{method}.png"
    return names


def input_files(folder: Path, method: str) -> list[Path]:
    """The folder's visible files, sorted; outputs of this command (…_x4_METHOD.png) left out."""
    suffix = f"_x4_{method}.png"
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and not p.name.endswith(suffix))


def run_upscale_folder(args, registry, name: str) -> int:
    from srviewer.core.images import read_image, write_image
    from srviewer.core.methods import upscale_image

    folder = Path(args.image)
    out_dir = Path(args.out) if args.out else folder.with_name(f"{folder.name}_x4_{name}")
    if out_dir.exists() and not out_dir.is_dir():
        raise ImageWriteError(f"{out_dir} is a file: -o wants an output folder when the input is a folder")
    files = input_files(folder, name)
    if not files:
        raise SrviewerError(f"{folder}: the folder has no files to upscale")
    out_dir.mkdir(parents=True, exist_ok=True)
    names = output_names(files, name)
    method = registry.get(name)
    done = kept = 0
    skipped: list[str] = []
    width = len(str(len(files)))
    for i, src in enumerate(files, 1):
        tag = f"[{i:>{width}}/{len(files)}] {src.name}"
        out = out_dir / names[src]
        if out.exists() and not args.overwrite:
            kept += 1
            print(f"{tag}: {out.name} exists, kept (--overwrite redoes it)", file=sys.stderr)
            continue
        start = time.perf_counter()
        try:
            loaded = read_image(src)
            result = upscale_image(method, loaded, progress=_progress(tag))
            write_image(out, result.rgb, result.alpha)
        except SrviewerError as exc:
            skipped.append(src.name)
            _line(f"{tag}: skipped: {exc}")
            for line in getattr(exc, "details", []) if args.verbose else []:
                print(f"    {line}", file=sys.stderr)
            continue
        done += 1
        _line(f"{tag}: wrote {out.name} ({result.width}x{result.height}) in {time.perf_counter() - start:.2f} s")
        for note in loaded.notes:
            if args.verbose or not note.startswith("decoder:"):
                print(f"    note: {note}", file=sys.stderr)
    summary = f"{done} upscaled, {kept} already done, {len(skipped)} skipped into {out_dir}"
    if skipped:
        summary += " (could not upscale: " + ", ".join(skipped) + ")"
    print(summary)
    return 2 if skipped else 0


def _line(text: str) -> None:
    """A line on stderr that replaces a progress line on a terminal."""
    print(("\r" if sys.stderr.isatty() else "") + text, file=sys.stderr)


def _progress(tag: str):
    def progress(fraction: float) -> None:
        if sys.stderr.isatty():
            print(f"\r{tag}: {fraction * 100:5.1f}%", end="", file=sys.stderr, flush=True)
    return progress
