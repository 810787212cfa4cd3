"""The `srviewer` command: the window by default, headless jobs as sub-commands.

    srviewer [gui] [IMAGE]            the comparison window
    srviewer upscale|compare|bench    headless jobs on the same core engine
    srviewer methods                  the methods in lineage order, with year and status
    srviewer train ...                the training engine

Exit status: 0 on success, 2 for a user error (bad file, missing weights: one line on stderr),
1 for anything unexpected. Each sub-command lives in its own module and registers itself here;
registering imports neither Qt nor TensorFlow, so `srviewer --help` is instant.
"""

from __future__ import annotations

import argparse
import os
import sys

from srviewer import __version__
from srviewer.errors import Cancelled, SrviewerError

EXIT_OK, EXIT_FAILURE, EXIT_USER_ERROR = 0, 1, 2
_COMMAND_MODULES = ("srviewer.gui.cli", "srviewer.cli_jobs", "srviewer.cli_models", "srviewer.cli_methods",
                    "srviewer.train.cli")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="srviewer",
        description="Compare x4 super-resolution methods (bicubic, SRCNN, SRResNet, SRGAN) "
        "by eye and by PSNR/SSIM.",
    )
    parser.add_argument("--version", action="version", version=f"srviewer {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:  # a face not installed in this build (only that one)
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    known = set(parser._subparsers._group_actions[0].choices)  # noqa: SLF001 - argparse has no API
    if not argv or (argv[0] not in known and argv[0] not in ("-h", "--help", "--version")):
        argv = ["gui", *argv]  # `srviewer` and `srviewer photo.png` open the window
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or EXIT_OK)
    except SrviewerError as exc:
        print(f"srviewer: error: {exc}", file=sys.stderr)
        for line in getattr(exc, "details", []) if getattr(args, "verbose", False) else []:
            print(f"  {line}", file=sys.stderr)   # what a decoder said, with -v
        return EXIT_USER_ERROR
    except Cancelled:
        print("srviewer: cancelled", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("srviewer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `srviewer bench ... | head`: the reader left, nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - a bug: say so in one line, traceback on request
        if os.environ.get("SRVIEWER_DEBUG"):
            raise
        print(f"srviewer: internal error: {type(exc).__name__}: {exc} (a bug; SRVIEWER_DEBUG=1 shows the "
              "traceback)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
