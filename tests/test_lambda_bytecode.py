"""Which stored Lambdas are exactly depth_to_space of their input, decided without running them.

The base64 strings are `marshal.dumps(f.__code__)` written by CPython 3.8, 3.10 and 3.12 (the
versions an old tf.keras 2 or a newer Keras file may come from), made once with
`python3.X -c "import marshal, base64; print(base64.b64encode(marshal.dumps((lambda t: ...).__code__)))"`.
"""

import base64
import marshal
import sys

import pytest

from srviewer.core.lambda_bytecode import BytecodeError, depth_to_space_block, read_code

FOREIGN = {  # version -> (lambda t: tf.nn.depth_to_space(t, 2), lambda t: relu(depth_to_space(t, 2)) - 0.3,
             #             lambda t: tf.nn.depth_to_space(t, 2) - t)
    "3.8": ("4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMOAAAAdABqAaACfABkAaECUwCpAk7pAgAAAKkD2gJ0ZtoCbm7aDmRlcHRoX3RvX3N"
            "wYWNlqQHaAXSpAHIJAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4DAAAA8wAAAAA=",
            "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMSAAAAdAB0AXwAZAGDAoMBZAIYAFMAKQNO6QIAAADnMzMzMzMz0z8pAtoEcmVsddo"
            "OZGVwdGhfdG9fc3BhY2WpAdoBdKkAcgcAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgUAAADzAAAAAA==",
            "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMSAAAAdABqAaACfABkAaECfAAYAFMAqQJO6QIAAACpA9oCdGbaAm5u2g5kZXB0aF9"
            "0b19zcGFjZakB2gF0qQByCQAAANoIPHN0cmluZz7aCDxsYW1iZGE+BQAAAPMAAAAA"),
    "3.10": ("4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAPMOAAAAdABqAaACfABkAaECUwCpAk7pAgAAAKkD2gJ0ZtoCbm7aDmRlcHRoX3RvX3"
             "NwYWNlqQHaAXSpAHIKAAAA2gg8c3RyaW5nPtoIPGxhbWJkYT4DAAAA8wIAAAAOAA==",
             "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMSAAAAdAB0AXwAZAGDAoMBZAIYAFMAKQNO6QIAAADnMzMzMzMz0z8pAtoEcmVsdd"
             "oOZGVwdGhfdG9fc3BhY2WpAdoBdKkAcgcAAADaCDxzdHJpbmc+2gg8bGFtYmRhPgUAAADzAgAAABIA",
             "4wEAAAAAAAAAAAAAAAEAAAAEAAAAQwAAAHMSAAAAdABqAaACfABkAaECfAAYAFMAqQJO6QIAAACpA9oCdGbaAm5u2g5kZXB0aF"
             "90b19zcGFjZakB2gF0qQByCQAAANoIPHN0cmluZz7aCDxsYW1iZGE+BQAAAPMCAAAAEgA="),
}
PY312_SHUFFLE = ("4wEAAAAAAAAAAAAAAAQAAAADAAAA80IAAACXAHQAAAAAAAAAAABqAgAAAAAAAAAAAAAAAAAAAAAAAGoFAAAAAAAAAAAAAAA"
                 "AAAAAAAAAfABkAasCAAAAAAAAUwCpAk7pAgAAAKkD2gJ0ZtoCbm7aDmRlcHRoX3RvX3NwYWNlqQHaAXRzAQAAACD6CDxzdHJp"
                 "bmc++gg8bGFtYmRhPnILAAAAAwAAAHMXAAAAgACUYpdlkWXXFirRFiqoMahh0xYwgADzAAAAAA==")


def _here(fn) -> bytes:
    return marshal.dumps(fn.__code__)


@pytest.fixture(autouse=True)
def _never_unmarshal(monkeypatch):
    monkeypatch.setattr(marshal, "loads", lambda *a: pytest.fail("stored bytecode was unmarshalled"))


@pytest.mark.parametrize("version", sorted(FOREIGN))
def test_tf_keras_2_era_bytecode_is_read_without_unmarshalling(version):
    shuffle, composite, minus = (base64.b64decode(s) for s in FOREIGN[version])
    assert read_code(shuffle).names == ("tf", "nn", "depth_to_space")
    assert depth_to_space_block(shuffle) == 2
    assert depth_to_space_block(composite) is None    # relu(depth_to_space(t, 2)) - 0.3
    assert depth_to_space_block(minus) is None        # same names and constant 2, one more instruction


# these lambdas are never called: their free names (tf, keras, relu, ...) are not defined here
EXACT = [(lambda t: tf.nn.depth_to_space(t, 2), None, 2),                       # noqa: F821
         (lambda x: tf.nn.depth_to_space(x, 4), None, 4),                       # noqa: F821
         (lambda t: depth_to_space(t, 3), None, 3),                             # noqa: F821
         (lambda t: keras.ops.depth_to_space(t, 2), None, 2),                   # noqa: F821
         (lambda x, scale: tf.nn.depth_to_space(x, scale), {"scale": 2}, 2)]    # noqa: F821
NOT_EXACT = [lambda t: relu(depth_to_space(t, 2)) - 0.3,                        # noqa: F821
             lambda t: tf.nn.depth_to_space(t, 2) - t,                          # noqa: F821
             lambda t: tf.nn.depth_to_space(-t, 2),                             # noqa: F821
             lambda t: tf.nn.depth_to_space(t, 2) * 2,                          # noqa: F821
             lambda t: tf.nn.depth_to_space(t, 2)[0],                           # noqa: F821
             lambda t: tf.nn.depth_to_space(t, block_size=2),                   # noqa: F821
             lambda t: tf.nn.depth_to_space(tf.nn.depth_to_space(t, 2), 2),     # noqa: F821
             lambda t: os.system(t) or tf.nn.depth_to_space(t, 2),              # noqa: F821
             lambda t: tf.nn.relu(t)]                                           # noqa: F821


@pytest.mark.parametrize("fn, arguments, block", EXACT)
def test_exact_depth_to_space_lambdas_give_their_block_size(fn, arguments, block):
    assert depth_to_space_block(_here(fn), arguments) == block


@pytest.mark.parametrize("fn", NOT_EXACT)
def test_anything_more_than_a_depth_to_space_is_not_a_pixel_shuffle(fn):
    assert depth_to_space_block(_here(fn)) is None


def test_closures_wrong_arguments_and_other_pythons_are_not_pixel_shuffles():
    n = 2
    assert depth_to_space_block(_here(lambda t: tf.nn.depth_to_space(t, n))) is None          # noqa: F821
    assert depth_to_space_block(_here(lambda x, scale: tf.nn.depth_to_space(x, scale))) is None  # noqa: F821
    # 3.12's instructions are compared only by a 3.12 interpreter: elsewhere refused, not guessed
    assert read_code(base64.b64decode(PY312_SHUFFLE)).names == ("tf", "nn", "depth_to_space")
    expected = 2 if sys.version_info[:2] == (3, 12) else None
    assert depth_to_space_block(base64.b64decode(PY312_SHUFFLE)) == expected


@pytest.mark.parametrize("data", [b"", b"c", b"\xe3\xff\xfe\x00JUNK\x00depth_to_space\x00" * 3,
                                  b"not marshal data", _here(lambda t: 0)[:-3]])
def test_junk_and_truncated_data_are_bytecode_errors_and_never_shuffles(data):
    with pytest.raises(BytecodeError):
        read_code(data)
    assert depth_to_space_block(data) is None
