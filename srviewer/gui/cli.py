"""`srviewer gui [IMAGE]`: the window (also what plain `srviewer` opens).

Registering imports neither Qt nor TensorFlow. With `--screenshot PNG` the window saves a grab
of itself and quits: once every result is shown with `--quit-after-results`, else right after
it appears.
"""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("gui", help="open the comparison window (the default)",
                              description="Open the comparison window, on IMAGE or on the sample photo.")
    p.add_argument("image", nargs="?", help="image to open (default: scikit-image's chelsea)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--reference", dest="mode", action="store_const", const="reference",
                      help="the image is the ground truth (default)")
    mode.add_argument("--blind", dest="mode", action="store_const", const="blind", help="the image is the LR input")
    p.add_argument("--tab", choices=("compare", "training"), default="compare")
    p.add_argument("--methods", default=None, help="comma-separated methods to tick")
    p.add_argument("--screenshot", metavar="PNG", help="save a grab of the window and quit")
    p.add_argument("--quit-after-results", action="store_true", help="with --screenshot: wait for all results")
    p.add_argument("--weights-dir", default=None, help="folder of the methods' weights (default weights/)")
    p.add_argument("--crop", default=None, help="x,y,w,h crop box in HR pixels")
    p.add_argument("--model", action="append", default=[], metavar="FILE_OR_FOLDER",
                   help="add a model file or folder as a method (any format `srviewer models inspect` reads)")
    p.add_argument("--result", action="append", default=[], metavar="NAME=FILE",
                   help="add a result image made elsewhere as a method (the HR's size, or the LR's x4 in blind mode)")
    from srviewer.cli_jobs import add_degrade_option

    add_degrade_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from srviewer.core import timeline
    from srviewer.core.degrade import parse_chain

    timeline.mark_process_start()
    timeline.mark("srviewer gui: arguments parsed")

    chain = parse_chain(args.degrade) if args.degrade else None   # a bad chain is one line, before any window
    from srviewer.core.model_process import start_beside_window

    process = start_beside_window()   # TensorFlow stays out of the window: its child starts now
    from srviewer.gui.app import make_app

    app = make_app()
    timeline.mark("QApplication made")
    from PySide6.QtCore import QTimer

    from srviewer.core.images import sample_image
    from srviewer.core.methods import default_registry
    from srviewer.core.result_images import add_results
    from srviewer.gui.main_window import MainWindow

    registry = default_registry(weights_dir=args.weights_dir, process=process)
    results = add_results(registry, args.result)      # a bad --result is one line before the window opens
    window = MainWindow(registry, show_dialogs=args.screenshot is None)
    timeline.mark("window built")
    controls = window.compare.controls
    if args.mode:
        controls.select(controls.mode, args.mode)
    if args.methods or results:
        ticked = [m for m in args.methods.split(",") if m] if args.methods else controls.selected_methods()
        window.compare.refresh_methods(ticked + results)
    if chain is not None:
        window.compare.degradation.panel.set_chain(chain, kernel_follows="kernel=" not in args.degrade)
    if args.tab == "training" and window.training is not None:
        window.tabs.setCurrentWidget(window.training)
    window.show()
    timeline.mark("window shown")
    for path in args.model:
        window.add_model_path(path)
    if args.crop:
        x, y, w, h = (int(v) for v in args.crop.split(","))
        window.compare.session.set_crop((x, y, w, h))
    if args.image:
        if not window.open_path(args.image) and args.screenshot:
            print(f"srviewer: error: {window.last_error}", file=sys.stderr)
    else:
        window.open_loaded(sample_image())

    if args.screenshot:
        def grab() -> None:
            window.compare.view._auto_refit()  # the last layout change may not have been fitted yet
            app.processEvents()
            window.grab().save(args.screenshot)
            print(f"wrote {args.screenshot}")
            window.close()
            app.quit()

        if args.quit_after_results and window.compare.session.image is not None:
            window.compare.results_shown.connect(lambda: QTimer.singleShot(300, grab))
            window.compare.runner.run_failed.connect(lambda _m: QTimer.singleShot(300, grab))
        else:
            QTimer.singleShot(800, grab)
    return app.exec()
