"""Frozen TensorFlow graphs (.pb): built from Keras in the test, loaded and run exactly as stored."""

import numpy as np
import pytest

from srviewer.core.formats import LoadOptions, format_for, tf_graph
from srviewer.errors import ModelFileError
from tf_format_models import (assert_refused_writing_nothing, classifier, keras_outputs, probe_input,
                              save_frozen_graph, sr_model)


@pytest.fixture(scope="module")
def pbs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pb")
    made = {
        "plain": sr_model(scales=(2,)),
        "bgr255_nchw": sr_model(scales=(2,), layout="nchw", bgr=True, value_max=255.0, seed=3),
        "two_heads": sr_model(scales=(2, 4), seed=5),
        "classifier": classifier(),
    }
    return {name: (model, save_frozen_graph(model, folder / f"{name}.pb")) for name, model in made.items()}


def test_plain_graph_runs_exactly_as_the_keras_model(pbs):
    model, path = pbs["plain"]
    assert format_for(path) is tf_graph.FORMAT
    raw = tf_graph.load(path, LoadOptions())
    assert raw.format == "tf_graph" and len(raw.inputs) == 1 and len(raw.outputs) == 1
    assert raw.inputs[0].shape == (None, None, None, 3) and raw.inputs[0].dtype == "float32"
    assert raw.params == model.count_params()
    x = probe_input((1, 11, 7, 3))
    (y,) = raw.run(x)
    assert y.shape == (1, 22, 14, 3)
    np.testing.assert_allclose(y, keras_outputs(model, x)[0], atol=1e-5)


def test_nchw_bgr_0_255_graph_keeps_its_layout_and_dtype(pbs):
    model, path = pbs["bgr255_nchw"]
    raw = tf_graph.load(path, LoadOptions())
    assert raw.inputs[0].shape == (None, 3, None, None)
    x = probe_input((1, 3, 9, 10)) * 255
    (y,) = raw.run(x)
    assert y.shape == (1, 3, 18, 20)
    np.testing.assert_allclose(y, keras_outputs(model, x)[0], atol=1e-3)


def test_two_heads_are_both_reported_in_graph_order(pbs):
    model, path = pbs["two_heads"]
    raw = tf_graph.load(path, LoadOptions(scale=4))
    assert len(raw.outputs) == 2 and any("2 outputs" in n for n in raw.notes)
    x = probe_input((1, 6, 5, 3))
    ys = raw.run(x)
    assert [y.shape for y in ys] == [(1, 12, 10, 3), (1, 24, 20, 3)]
    for y, ref in zip(ys, keras_outputs(model, x)):
        np.testing.assert_allclose(y, ref, atol=1e-5)


def test_a_classifier_graph_loads_raw_with_its_vector_output(pbs):
    # refusing it (not an upscale) is the conventions layer's job; the raw loader reports it exactly
    _, path = pbs["classifier"]
    raw = tf_graph.load(path, LoadOptions())
    assert raw.outputs[0].shape == (None, 5)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty_graph"])
def test_broken_pb_is_one_line(pbs, tmp_path, damage):
    data = pbs["plain"][1].read_bytes()
    bad = tmp_path / "bad.pb"
    bad.write_bytes({"truncated": data[: len(data) // 2], "garbage": bytes(range(256)) * 40,
                     "empty_graph": b""}[damage])
    with pytest.raises(ModelFileError) as err:
        tf_graph.load(bad, LoadOptions())
    assert "bad.pb" in str(err.value) and "\n" not in str(err.value)


def _with_write_file(graph_def, target):
    """The graph with a WriteFile node the first output waits on (a control input)."""
    import tensorflow as tf

    g = tf.compat.v1.GraphDef()
    g.CopyFrom(graph_def)
    for name, value in (("wf/filename", str(target).encode()), ("wf/contents", b"written by the graph")):
        node = g.node.add(name=name, op="Const")
        node.attr["dtype"].type = tf.string.as_datatype_enum
        node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
    g.node.add(name="wf/write", op="WriteFile", input=["wf/filename", "wf/contents"])
    output = next(n for n in g.node if n.op == "Identity")
    output.input.append("^wf/write")
    return g


def test_a_graph_that_writes_a_file_is_refused_and_writes_nothing_unless_trusted(pbs, tmp_path):
    import tensorflow as tf

    model, path = pbs["plain"]
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(path.read_bytes())
    target = tmp_path / "pwned.txt"
    evil = tmp_path / "evil.pb"
    evil.write_bytes(_with_write_file(graph_def, target).SerializeToString())
    assert_refused_writing_nothing(lambda: tf_graph.load(evil, LoadOptions()), "WriteFile", target)
    raw = tf_graph.load(evil, LoadOptions(trust_code=True))
    assert any("WriteFile" in n for n in raw.notes)
    x = probe_input((1, 4, 4, 3))
    np.testing.assert_allclose(raw.run(x)[0], keras_outputs(model, x)[0], atol=1e-5)
    assert target.read_bytes() == b"written by the graph"
