"""The operation allow-list on hand-made graphs: what is followed, what is refused, what trust allows."""

import pytest

from srviewer.core.formats.graph_safety import (ALLOWED_TF_OPS, ALLOWED_TFLITE_OPS, check_graph_def,
                                                check_meta_graph, refuse_unlisted, tf_graph_ops)
from srviewer.errors import ModelFileError


def _graph(nodes, functions=()):
    """nodes: (name, op, inputs, called function or None); functions: (name, [(node, op)])."""
    from tensorflow.core.framework import graph_pb2

    g = graph_pb2.GraphDef()
    for name, op, inputs, fn in nodes:
        node = g.node.add(name=name, op=op, input=inputs)
        if fn:
            node.attr["f"].func.name = fn
    for fname, body in functions:
        f = g.library.function.add()
        f.signature.name = fname
        for name, op in body:
            f.node_def.add(name=name, op=op)
    return g


def test_ops_inside_called_functions_are_found_and_refused():
    g = _graph([("x", "Placeholder", [], None), ("call", "StatefulPartitionedCall", ["x"], "outer"),
                ("out", "Identity", ["call"], None)],
               [("outer", [("conv", "Conv2D"), ("inner_call", "inner")]),     # a call by op name
                ("inner", [("read", "ReadFile"), ("add", "AddV2")])])
    ops = tf_graph_ops(g, roots=["out:0"])
    assert {"Placeholder", "StatefulPartitionedCall", "Identity", "Conv2D", "ReadFile", "AddV2"} <= set(ops)
    assert ops["ReadFile"] == "inner/read"
    with pytest.raises(ModelFileError) as err:
        check_graph_def(g, "model.pb", roots=["out"])
    msg = str(err.value)
    assert msg.startswith("model.pb: refused") and "ReadFile (it can read files)" in msg
    assert "'inner/read'" in msg and "--trust-model-code" in msg and "\n" not in msg


def test_only_what_the_outputs_need_is_checked_and_trust_turns_refusal_into_a_note():
    g = _graph([("x", "Placeholder", [], None), ("out", "Relu", ["x"], None),
                ("stray", "WriteFile", [], None)])
    assert check_graph_def(g, "m.pb", roots=["out"]) == []
    with pytest.raises(ModelFileError, match="WriteFile"):
        check_graph_def(g, "m.pb")
    notes = check_graph_def(g, "m.pb", trust_code=True)
    assert len(notes) == 1 and "WriteFile" in notes[0]


def test_a_dangerous_op_is_named_first_among_several_unknown_ones():
    with pytest.raises(ModelFileError) as err:
        refuse_unlisted({"Mystery": "a", "MatchingFiles": "b"}, ALLOWED_TF_OPS, "m.pb", trust_code=False)
    assert "runs MatchingFiles (it can list files) at 'b'" in str(err.value) and "also Mystery" in str(err.value)


def _meta_graph(nodes, functions=(), restore="restore_all", save="save/Identity:0"):
    from tensorflow.core.protobuf import meta_graph_pb2

    mg = meta_graph_pb2.MetaGraphDef()
    mg.graph_def.CopyFrom(_graph(nodes, functions))
    mg.saver_def.restore_op_name = restore
    mg.saver_def.save_tensor_name = save
    return mg


_SAVER = [("filename", "Placeholder", [], None), ("restore", "RestoreV2", ["filename"], None),
          ("assign", "Assign", ["restore"], None), ("restore_all", "NoOp", ["^assign"], None),
          ("save/SaveV2", "SaveV2", ["filename"], None), ("save/Merge", "MergeV2Checkpoints", ["^save/SaveV2"], None),
          ("save/Identity", "Identity", ["filename", "^save/Merge"], None)]
_MODEL = [("x", "Placeholder", [], None), ("y", "Conv2D", ["x"], None)]


def test_a_saver_may_save_and_restore_but_nothing_else_may():
    assert check_meta_graph(_meta_graph(_MODEL + _SAVER), "sm") == []
    with pytest.raises(ModelFileError, match="SaveV2"):        # a save outside the saver
        check_meta_graph(_meta_graph(_MODEL + _SAVER + [("z", "SaveV2", ["x"], None)]), "sm")
    sneaky = [n if n[0] != "restore_all" else ("restore_all", "NoOp", ["^assign", "^save/Merge"], None)
              for n in _SAVER]                                   # restoring would also save
    with pytest.raises(ModelFileError, match="MergeV2Checkpoints"):
        check_meta_graph(_meta_graph(_MODEL + sneaky), "sm")
    calls_save = [("x", "Placeholder", [], None), ("y", "Conv2D", ["x", "^save/Identity"], None)]
    with pytest.raises(ModelFileError, match="SaveV2"):         # the model's output waits on a save
        check_meta_graph(_meta_graph(calls_save + _SAVER), "sm")


def test_every_library_function_of_a_saved_model_is_checked_even_uncalled():
    # TensorFlow 2's loader may call a function the object graph names (a resource initializer)
    mg = _meta_graph(_MODEL + _SAVER, [("__inference__initialize_7", [("w", "WriteFile")])])
    with pytest.raises(ModelFileError, match="WriteFile"):
        check_meta_graph(mg, "sm")


def test_tflite_custom_and_flex_operators_are_refused():
    plain = {"CONV_2D": "operator 0", "DEPTH_TO_SPACE": "operator 1"}
    assert refuse_unlisted(plain, ALLOWED_TFLITE_OPS, "m", False) == []
    with pytest.raises(ModelFileError, match="MyCustomOp"):
        refuse_unlisted({"CONV_2D": "operator 0", "MyCustomOp": "operator 1"}, ALLOWED_TFLITE_OPS, "m", False)


def test_importing_the_tensorflow_format_modules_imports_no_tensorflow():
    import subprocess
    import sys

    code = ("import sys; import srviewer.core.formats.tf_graph, srviewer.core.formats.saved_model, "
            "srviewer.core.formats.tflite, srviewer.core.formats.graph_safety; "
            "bad = [m for m in ('tensorflow', 'keras', 'ai_edge_litert') if m in sys.modules]; "
            "sys.exit(str(bad) if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-300:]
