"""`srviewer methods`: the methods this installation offers, in lineage order with their year, and
for each shipped one whether its weights are there or the command that trains it.

Registering imports neither Qt nor TensorFlow; listing reads only which files exist.
"""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("methods", help="list the methods in lineage order, with year and status",
                              description="The shipped methods from bicubic (1981) to SRGAN (2017), oldest "
                              "first: ready, or the command that trains the missing weights.")
    p.add_argument("--weights-dir", default=None, help="folder of NAME.weights.h5 + NAME.json (default: weights/)")
    p.set_defaults(func=run_methods)


def run_methods(args) -> int:
    from srviewer.core.lineage import BY_NAME
    from srviewer.core.methods import default_registry

    registry = default_registry(weights_dir=args.weights_dir)
    print(f"{'method':<10} {'year':>4}  {'label':<9} status")
    for method in registry:
        step = BY_NAME.get(method.name)
        ok, reason = method.availability()
        hint = getattr(method, "train_hint", lambda: "")()
        status = "ready" if ok else f"not trained: {hint}" if hint else f"unavailable: {reason}"
        print(f"{method.name:<10} {step.year if step else '':>4}  {method.label:<9} {status}")
    return 0
