"""The operation allow-list: a foreign graph runs only operations that image models use.

A TensorFlow graph or SavedModel carries no Python, but it is still a program: `ReadFile`,
`WriteFile`, `MatchingFiles`, checkpoint save/restore ops, `PrintV2` to a file, `PyFunc` and the
like read, write or run anything. Before a foreign graph runs, its operations are listed and
checked against the allow-lists below (convolutions, element-wise maths, shape and resize ops,
variables and function calls); anything else is refused with one line naming the operation and
`--trust-model-code`. Nothing is imported here (no TensorFlow): the checks read parsed protos and
plain op names, so any graph format can use them.

Functions are followed: an op whose type or attribute names a function of the graph's library
(`StatefulPartitionedCall`, `If`, `While`, a call by name) has that function's operations checked
too, whole. In a SavedModel, the saver's own restore subgraph (what TensorFlow's loader runs to
read the model's variables folder) may also hold the restore ops, and its save subgraph (never
run: srviewer does not save models) may hold the save ops; neither may hold anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from srviewer.errors import ModelFileError

TRUST_HINT = "if you trust the file, pass --trust-model-code"

_STRUCTURE = """Placeholder PlaceholderWithDefault Const Identity IdentityN NoOp StopGradient
    PreventGradient Snapshot EnsureShape CheckNumerics Assert StatefulPartitionedCall PartitionedCall
    If StatelessIf While StatelessWhile Case StatelessCase Switch Merge Enter Exit NextIteration
    LoopCond ControlTrigger"""
_VARIABLES = """VarHandleOp ReadVariableOp AssignVariableOp VarIsInitializedOp VariableV2 Variable
    Assign IsVariableInitialized"""
_RANDOM = """RandomStandardNormal RandomUniform RandomUniformInt TruncatedNormal StatelessRandomNormal
    StatelessRandomUniform StatelessTruncatedNormal StatelessRandomNormalV2 StatelessRandomUniformV2
    StatelessRandomGetKeyCounter StatelessRandomGetAlg"""
_MATH = """Add AddV2 AddN Sub Mul Div RealDiv DivNoNan FloorDiv FloorMod Mod TruncateDiv Maximum
    Minimum Neg Abs Sign Exp Expm1 Log Log1p Sqrt Rsqrt Square SquaredDifference Pow Reciprocal Inv
    Floor Ceil Round Rint Tanh Sigmoid Erf Sin Cos Atan Atan2 ClipByValue Cast Select SelectV2 Less
    LessEqual Greater GreaterEqual Equal NotEqual LogicalAnd LogicalOr LogicalNot IsFinite IsNan
    IsInf Softplus Softsign Mean Sum Max Min Prod ArgMax ArgMin All Any Cumsum MatMul BatchMatMul
    BatchMatMulV2 BatchMatMulV3 Einsum _FusedMatMul"""
_NN = """Conv2D Conv2DBackpropInput Conv3D DepthwiseConv2dNative DepthwiseConv2dNativeBackpropInput
    _FusedConv2D _FusedDepthwiseConv2dNative BiasAdd BiasAddV1 Relu Relu6 LeakyRelu Elu Selu Softmax
    LogSoftmax MaxPool MaxPoolV2 AvgPool FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3
    _FusedBatchNormEx LRN DepthToSpace SpaceToDepth SpaceToBatchND BatchToSpaceND ResizeBilinear
    ResizeNearestNeighbor ResizeBicubic ResizeArea ScaleAndTranslate ExtractImagePatches Dilation2D
    FakeQuantWithMinMaxVars FakeQuantWithMinMaxVarsPerChannel FakeQuantWithMinMaxArgs Dequantize"""
_SHAPE = """Shape ShapeN Size Rank Reshape Transpose ExpandDims Squeeze Concat ConcatV2 ConcatOffset
    Pack Unpack Split SplitV Slice StridedSlice Pad PadV2 MirrorPad Tile Fill ZerosLike OnesLike
    Range Gather GatherV2 GatherNd Reverse ReverseV2 BroadcastTo BroadcastArgs BroadcastGradientArgs
    OneHot TopKV2 Empty"""

ALLOWED_TF_OPS = frozenset(" ".join((_STRUCTURE, _VARIABLES, _RANDOM, _MATH, _NN, _SHAPE)).split())
"""TensorFlow op types an image model may run."""

RESTORE_OPS = frozenset("RestoreV2 Restore RestoreSlice StringJoin ShardedFilename".split())
SAVE_OPS = frozenset("""SaveV2 Save SaveSlices MergeV2Checkpoints ShardedFilename ShardedFilespec
    StringJoin StaticRegexFullMatch DisableCopyOnRead""".split()) | RESTORE_OPS

ALLOWED_TFLITE_OPS = frozenset("""CONV_2D DEPTHWISE_CONV_2D TRANSPOSE_CONV CONV_3D DEPTH_TO_SPACE
    SPACE_TO_DEPTH SPACE_TO_BATCH_ND BATCH_TO_SPACE_ND ADD ADD_N SUB MUL DIV FLOOR_DIV FLOOR_MOD
    MAXIMUM MINIMUM RELU RELU6 RELU_N1_TO_1 RELU_0_TO_1 LEAKY_RELU PRELU TANH LOGISTIC ELU HARD_SWISH
    GELU EXP LOG SQRT RSQRT SQUARE SQUARED_DIFFERENCE POW NEG ABS SIGN FLOOR CEIL ROUND SIN COS
    RESHAPE TRANSPOSE CONCATENATION PACK UNPACK SPLIT SPLIT_V SLICE STRIDED_SLICE PAD PADV2 MIRROR_PAD
    TILE FILL SHAPE RANK EXPAND_DIMS SQUEEZE GATHER GATHER_ND REVERSE_V2 RESIZE_BILINEAR
    RESIZE_NEAREST_NEIGHBOR MEAN SUM REDUCE_MAX REDUCE_MIN REDUCE_PROD SOFTMAX LOG_SOFTMAX
    FULLY_CONNECTED BATCH_MATMUL MAX_POOL_2D AVERAGE_POOL_2D L2_NORMALIZATION
    LOCAL_RESPONSE_NORMALIZATION QUANTIZE DEQUANTIZE CAST BROADCAST_TO BROADCAST_ARGS SELECT SELECT_V2
    LESS LESS_EQUAL GREATER GREATER_EQUAL EQUAL NOT_EQUAL LOGICAL_AND LOGICAL_OR LOGICAL_NOT
    ZEROS_LIKE ONES_LIKE RANGE CUMSUM ARG_MAX ARG_MIN WHILE IF CALL_ONCE VAR_HANDLE READ_VARIABLE
    ASSIGN_VARIABLE DELEGATE""".split())
"""TFLite builtin operators an image model may run (`DELEGATE` is XNNPACK's fused subgraph)."""

_WHAT_IT_CAN_DO = {
    "ReadFile": "read files", "WriteFile": "write files", "MatchingFiles": "list files",
    "PrintV2": "write to a file or the console", "Print": "write to the console",
    "PyFunc": "run Python code", "EagerPyFunc": "run Python code", "PyFuncStateless": "run Python code",
    "SaveV2": "write checkpoint files", "Save": "write checkpoint files", "SaveSlices": "write checkpoint files",
    "MergeV2Checkpoints": "write and delete checkpoint files", "RestoreV2": "read checkpoint files",
    "Restore": "read checkpoint files", "RestoreSlice": "read checkpoint files",
    "DeleteFile": "delete files", "WholeFileReader": "read files", "WholeFileReaderV2": "read files",
    "InitializeTableFromTextFile": "read files", "InitializeTableFromTextFileV2": "read files",
    "ImmutableConst": "map a file into memory", "DebugIdentity": "write debug dumps",
}


def _func_names(attrs) -> list[str]:
    """Names of the library functions a node's attributes refer to (`f`, `then_branch`, `body`, ...)."""
    names = []
    for value in attrs.values():
        if value.HasField("func"):
            names.append(value.func.name)
        elif value.HasField("list"):
            names.extend(f.name for f in value.list.func)
    return names


def _node_name(ref: str) -> str:
    """'^a' / 'a:0' / 'a:out:0' -> 'a'."""
    return ref.lstrip("^").split(":", 1)[0]


def tf_graph_ops(graph_def, roots: Iterable[str] | None = None) -> dict[str, str]:
    """{op type: first node running it} of a GraphDef: the nodes that `roots` (node or tensor
    names) depend on, or every node when `roots` is None, with every library function they call.
    """
    return _collect(graph_def, roots, exclude=())[0]


def _collect(graph_def, roots, exclude) -> tuple[dict[str, str], set[str], set[str]]:
    """(ops, the top-level node names visited, the library functions called), never entering
    the node names in `exclude`."""
    nodes = {n.name: n for n in graph_def.node}
    library = {f.signature.name: f for f in graph_def.library.function}
    ops: dict[str, str] = {}
    todo = list(nodes) if roots is None else [_node_name(r) for r in roots]
    seen: set[str] = set()
    called: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name in exclude or name not in nodes:
            continue
        seen.add(name)
        node = nodes[name]
        _add_node(node, node.name, library, ops, called)
        todo.extend(_node_name(i) for i in node.input)
    return ops, seen, called


def _add_node(node, where: str, library, ops: dict[str, str], called: set[str]) -> None:
    if node.op in library:                       # a call of a library function by name
        _add_function(node.op, library, ops, called)
    else:
        ops.setdefault(node.op, where)
    for fname in _func_names(node.attr):
        _add_function(fname, library, ops, called)


def _add_function(fname: str, library, ops: dict[str, str], called: set[str]) -> None:
    if fname in called or fname not in library:
        return
    called.add(fname)
    for node in library[fname].node_def:
        _add_node(node, f"{fname}/{node.name}", library, ops, called)


def refuse_unlisted(ops: Mapping[str, str], allowed: Iterable[str], what: str, trust_code: bool) -> list[str]:
    """Refuse (ModelFileError, one line) any op in `ops` ({op: where}) not in `allowed`.

    With `trust_code` nothing is refused and the returned notes name what runs beyond the list.
    """
    allowed = frozenset(allowed)
    extra = sorted(op for op in ops if op not in allowed)
    if not extra:
        return []
    if trust_code:
        return [f"runs operations outside the allow-list (trusted): {', '.join(extra)}"]
    def does(op: str) -> str | None:   # TFLite names a TensorFlow op it embeds "Flex<Op>"
        return _WHAT_IT_CAN_DO.get(op) or _WHAT_IT_CAN_DO.get(op.removeprefix("Flex"))

    first = next((op for op in extra if does(op)), extra[0])
    can = f" (it can {does(first)})" if does(first) else ""
    more = f"; also {', '.join(op for op in extra if op != first)}" if len(extra) > 1 else ""
    raise ModelFileError(f"{what}: refused: the graph runs {first}{can} at {ops[first]!r}, an operation "
                         f"image models do not use{more}; {TRUST_HINT}")


def check_graph_def(graph_def, what: str, roots: Iterable[str] | None = None, trust_code: bool = False) -> list[str]:
    """Check the ops a frozen GraphDef runs to compute `roots` (all nodes when None)."""
    return refuse_unlisted(tf_graph_ops(graph_def, roots), ALLOWED_TF_OPS, what, trust_code)


def check_meta_graph(meta_graph, what: str, trust_code: bool = False) -> list[str]:
    """Check everything a SavedModel's MetaGraphDef may run when loaded and called.

    Every node and library function is checked against ALLOWED_TF_OPS, except the saver's
    subgraphs: the restore subgraph may add RESTORE_OPS, the save subgraph SAVE_OPS. A function
    the object graph names (which TensorFlow 2's loader may call: resource initializers, restored
    methods) is never a saver-only one.
    """
    graph_def = meta_graph.graph_def
    saver = meta_graph.saver_def
    restore_root = [saver.restore_op_name] if saver.restore_op_name else []
    save_root = [saver.save_tensor_name] if saver.save_tensor_name else []
    restore_ops, restore_nodes, restore_fns = _collect(graph_def, restore_root, exclude=())
    save_ops, save_nodes, save_fns = _collect(graph_def, save_root, exclude=restore_nodes)
    saver_nodes = restore_nodes | save_nodes
    saver_only = (restore_fns | save_fns) - set(meta_graph.object_graph_def.concrete_functions)
    # everything else: graph nodes outside the saver with all they depend on (a saver node
    # included: the model must not need it), every function they call, and every library
    # function that is not the saver's own
    other_roots = [n.name for n in graph_def.node if n.name not in saver_nodes]
    other_ops, _, other_fns = _collect(graph_def, other_roots, exclude=())
    library = {f.signature.name: f for f in graph_def.library.function}
    for fname in library:
        if fname not in saver_only and fname not in other_fns:
            _add_function(fname, library, other_ops, other_fns)
    notes = refuse_unlisted(other_ops, ALLOWED_TF_OPS, what, trust_code)
    notes += refuse_unlisted(restore_ops, ALLOWED_TF_OPS | RESTORE_OPS, what, trust_code)
    notes += refuse_unlisted(save_ops, ALLOWED_TF_OPS | SAVE_OPS, what, trust_code)
    return notes
