"""`srviewer models inspect FILE_OR_FOLDER`: what srviewer makes of a model file, and why.

Prints the format, scale, input kind, layout, channels, value range, fixed input size, output
head, parameters, device and the evidence for each choice (declared by the file, stated by the
sidecar or an override, or found by running the probe image). A convention that had to be
detected is written to the sidecar, as when the model is first used. Registering imports nothing heavy.
"""

from __future__ import annotations


def register(subparsers) -> None:
    from srviewer.cli_jobs import add_model_convention_options
    from srviewer.core.formats import help_text

    models = subparsers.add_parser("models", help="model files: inspect what srviewer makes of one")
    sub = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)
    p = sub.add_parser("inspect", help="print a model's format, scale, layout, channels, range and the evidence",
                       description="Load a model the way a comparison would and say how it is run. " + help_text())
    p.add_argument("model", metavar="FILE_OR_FOLDER")
    p.add_argument("--scale", type=int, default=4, help="the scale the comparison asks for (chooses an output head)")
    p.add_argument("--trust-model-code", action="store_true", help="allow model files that carry code")
    add_model_convention_options(p)
    p.set_defaults(func=run_inspect)


def describe(predictor) -> list[str]:
    """The lines `models inspect` prints for a model_conventions.Predictor."""
    c = predictor.convention
    size = f"{c.fixed_size[1]}x{c.fixed_size[0]} (tiled at exactly that size)" if c.fixed_size else "any"
    params = f"{predictor.params:,}" if predictor.params is not None else "unknown"
    out = predictor.raw.outputs[c.output].name if c.output < len(predictor.raw.outputs) else str(c.output)
    lines = [f"label:       {predictor.label}",
             f"format:      {predictor.format}",
             f"scale:       x{c.scale}",
             f"input:       {c.input_kind}" + (" (fed the bicubic upscale)" if c.input_kind == "bicubic" else " (the LR image)"),
             f"layout:      {c.layout.upper()}",
             f"channels:    {c.channels.upper() if c.channels != 'y' else 'Y (luma; colour from bicubic chroma)'}",
             f"range:       {c.range}",
             f"fixed size:  {size}",
             f"output:      {out}" + (f" (surplus pixels cut: {c.trim})" if "trim" in c.evidence else ""),
             f"overlap:     {c.overlap} LR pixels of tile context",
             f"parameters:  {params}",
             f"device:      {predictor.device}",
             "evidence:"]
    lines += [f"  {key}: {why}" for key, why in c.evidence.items()]
    lines += [f"note: {note}" for note in predictor.notes]
    return lines


def run_inspect(args) -> int:
    from srviewer.core.formats import LoadOptions
    from srviewer.core.methods import _precision_from_env
    from srviewer.core.model_loading import load_predictor

    predictor = load_predictor(args.model, LoadOptions(args.trust_model_code, args.scale),
                               overrides={"range": args.model_range, "channels": args.model_channels},
                               jit_compile=False, precision=_precision_from_env())
    for line in describe(predictor):
        print(line)
    reached = predictor.scale ** args.model_repeat
    if reached != args.scale:
        print(f"note: x{predictor.scale}" + (f" run {args.model_repeat} times is x{reached}" if args.model_repeat > 1 else "")
              + f", not the x{args.scale} asked for: a comparison refuses it"
              + (" (use --model-repeat)" if predictor.scale > 1 and any(predictor.scale ** n == args.scale for n in range(2, 5)) else ""))
    return 0
