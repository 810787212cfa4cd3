"""Is a stored Keras Lambda exactly `depth_to_space` of its input? Decided without running it.

A tf.keras 2 (or Keras 3) Lambda stores its function as `marshal.dumps(code)`, base64-encoded.
`marshal.loads` is not safe on untrusted data (bytecode from another Python version can crash
the interpreter), so this module reads the marshal format itself, in pure Python and with
bounds checks: it never builds a code object and never runs anything.

A Lambda is accepted as a pixel shuffle only when all of these hold:
- one positional argument (or two, the second being the block size given in the layer's
  `arguments`), no keyword-only or * arguments, no free variables or closure;
- the names it references are a dotted path of known modules ending in `depth_to_space`
  (`tf.nn.depth_to_space`, `tf.depth_to_space`, `keras.ops.depth_to_space`, `K.depth_to_space`,
  a bare `depth_to_space`), and its only constant besides None is the block size (an int >= 2);
- its instructions are exactly those of `lambda t: PATH(t, N)`: compared with the encoding of
  Python 3.7-3.10 (the tf.keras 2 era, one wordcode for all four), or, for a 3.11+ layout, with
  what this interpreter compiles from that source.
Anything else (`relu(depth_to_space(t, 2)) - 0.3`, `depth_to_space(t, 2) * t`, a keyword block
size, bytecode of a Python this interpreter cannot compare with) is not a plain pixel shuffle.
"""

from __future__ import annotations

import struct
import types
from dataclasses import dataclass

MODULE_NAMES = frozenset({"tf", "tensorflow", "nn", "compat", "v1", "keras", "K", "backend", "ops"})
TARGET = "depth_to_space"
_MAX_BYTES = 1 << 16
_MAX_DEPTH = 32


class BytecodeError(ValueError):
    """The data is not marshal data this reader understands (nothing was run)."""


@dataclass
class CodeFacts:
    """The parts of a code object that decide what it does."""
    layout: str                 # "3.7", "3.8-3.10" or "3.11+"
    argcount: int
    posonlyargcount: int
    kwonlyargcount: int
    flags: int
    code: bytes
    consts: tuple
    names: tuple
    varnames: tuple             # argument and local names
    freevars: tuple


class _Code:
    """A nested code object inside consts (a lambda inside the lambda): never accepted."""


class _Reader:
    def __init__(self, data: bytes, layout: str):
        self.data, self.pos, self.layout, self.refs = data, 0, layout, []

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise BytecodeError("truncated marshal data")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def _int(self) -> int:
        return struct.unpack("<i", self._take(4))[0]

    def _size(self) -> int:
        n = self._int()
        if n < 0 or n > _MAX_BYTES:
            raise BytecodeError("bad size in marshal data")
        return n

    def obj(self, depth: int = 0):
        if depth > _MAX_DEPTH:
            raise BytecodeError("marshal data nested too deep")
        byte = self._take(1)[0]
        flag, kind = byte & 0x80, chr(byte & 0x7F)
        slot = None
        if flag:
            slot = len(self.refs)
            self.refs.append(None)
        value = self._value(kind, depth)
        if slot is not None:
            self.refs[slot] = value
        return value

    def _value(self, kind: str, depth: int):
        simple = {"N": None, "F": False, "T": True, ".": Ellipsis}
        if kind in simple:
            return simple[kind]
        if kind == "i":
            return self._int()
        if kind == "l":
            n = self._int()
            if abs(n) > 64:
                raise BytecodeError("integer constant too large")
            digits = struct.unpack(f"<{abs(n)}H", self._take(2 * abs(n)))
            value = sum(d << (15 * i) for i, d in enumerate(digits))
            return -value if n < 0 else value
        if kind == "g":
            return struct.unpack("<d", self._take(8))[0]
        if kind == "y":
            re_, im = struct.unpack("<dd", self._take(16))
            return complex(re_, im)
        if kind == "s":
            return self._take(self._size())
        if kind in "tuaA":
            return self._text(self._size())
        if kind in "zZ":
            return self._text(self._take(1)[0])
        if kind in "([<>":
            items = tuple(self.obj(depth + 1) for _ in range(self._size()))
            return items
        if kind == ")":
            return tuple(self.obj(depth + 1) for _ in range(self._take(1)[0]))
        if kind == "r":
            index = self._int()
            if not 0 <= index < len(self.refs) or self.refs[index] is None:
                raise BytecodeError("bad back-reference in marshal data")
            return self.refs[index]
        if kind == "c":
            return self._code(depth)
        raise BytecodeError(f"marshal type {kind!r} not expected in a lambda")

    def _text(self, n: int) -> str:
        try:
            return self._take(n).decode("utf-8")
        except UnicodeDecodeError:
            raise BytecodeError("bad string in marshal data") from None

    def _code(self, depth: int):
        if depth > 0:       # a code object inside the lambda's constants: parse it, but flag it
            self._code_fields(depth)
            return _Code()
        return self._code_fields(depth)

    def _code_fields(self, depth: int) -> CodeFacts:
        o = lambda: self.obj(depth + 1)  # noqa: E731
        argcount = self._int()
        posonly = 0 if self.layout == "3.7" else self._int()
        kwonly = self._int()
        if self.layout != "3.11+":
            self._int()                                   # nlocals
        self._int()                                       # stacksize
        flags = self._int()
        code, consts, names = o(), o(), o()
        if self.layout == "3.11+":
            localsplus, _kinds = o(), o()
            varnames, freevars = localsplus, ()
            o(), o(), o()                                 # filename, name, qualname
            self._int()                                   # firstlineno
            o(), o()                                      # linetable, exceptiontable
        else:
            varnames, freevars, _cellvars = o(), o(), o()
            o(), o()                                      # filename, name
            self._int()                                   # firstlineno
            o()                                           # lnotab / linetable
        if not isinstance(code, bytes) or not all(isinstance(x, tuple) for x in (consts, names, varnames, freevars)):
            raise BytecodeError("not a code object")
        return CodeFacts(self.layout, argcount, posonly, kwonly, flags, code, consts, names, varnames, freevars)


def read_code(data: bytes) -> CodeFacts:
    """The facts of the code object `marshal.dumps` wrote into `data`; BytecodeError if it is not one.

    The field layout differs between Python versions; the one that reads the data to its last
    byte wins.
    """
    if len(data) > _MAX_BYTES or not data or (data[0] & 0x7F) != ord("c"):
        raise BytecodeError("not marshalled code")
    for layout in ("3.11+", "3.8-3.10", "3.7"):
        reader = _Reader(data, layout)
        try:
            facts = reader.obj()
        except (BytecodeError, struct.error):
            continue
        if reader.pos == len(data) and isinstance(facts, CodeFacts):
            return facts
    raise BytecodeError("not marshalled code of a Python version this reader knows")


# CPython 3.7-3.10 opcodes (the same numbers in all four)
_LOAD_CONST, _LOAD_ATTR, _LOAD_GLOBAL, _LOAD_FAST = 100, 106, 116, 124
_CALL_FUNCTION, _LOAD_METHOD, _CALL_METHOD, _RETURN_VALUE = 131, 160, 161, 83
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


def _wordcode_3_7_to_3_10(path_len: int, block_op: tuple[int, int]) -> bytes:
    """The instructions of `lambda t: PATH(t, N)` (or `lambda t, n: PATH(t, n)`) in Python 3.7-3.10."""
    ops = [(_LOAD_GLOBAL, 0)]
    if path_len == 1:
        ops += [(_LOAD_FAST, 0), block_op, (_CALL_FUNCTION, 2)]
    else:
        ops += [(_LOAD_ATTR, i) for i in range(1, path_len - 1)]
        ops += [(_LOAD_METHOD, path_len - 1), (_LOAD_FAST, 0), block_op, (_CALL_METHOD, 2)]
    ops.append((_RETURN_VALUE, 0))
    return bytes(b for op in ops for b in op)


def _compiled_here(source: str) -> types.CodeType:
    """The code object of the lambda in `source`, compiled (not run) by this interpreter."""
    module = compile(source, "<srviewer>", "eval")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


def depth_to_space_block(data: bytes, arguments: dict | None = None) -> int | None:
    """The block size if the marshalled lambda `data` is exactly `depth_to_space(input, N)`, else None.

    `arguments` is the Lambda layer's `arguments` dict (extra keyword arguments of the call).
    """
    try:
        facts = read_code(data)
    except BytecodeError:
        return None
    arguments = arguments or {}
    path = facts.names
    if (not path or path[-1] != TARGET or len(set(path)) != len(path)
            or not set(path[:-1]) <= MODULE_NAMES or facts.freevars or facts.kwonlyargcount
            or facts.posonlyargcount or facts.flags & (_CO_VARARGS | _CO_VARKEYWORDS)
            or any(isinstance(c, _Code) for c in facts.consts)):
        return None
    args = facts.varnames[:facts.argcount]
    if len(facts.varnames) != facts.argcount or len(set(args)) != len(args) or not all(a.isidentifier() for a in args):
        return None
    ints = [c for c in facts.consts if c is not None]
    if facts.argcount == 1 and not arguments and len(ints) == 1 and type(ints[0]) is int and ints[0] >= 2:
        block, block_src = ints[0], str(ints[0])
        block_op = (_LOAD_CONST, facts.consts.index(block))
    elif (facts.argcount == 2 and not ints and set(arguments) == {args[1]}
          and type(arguments[args[1]]) is int and arguments[args[1]] >= 2):
        block, block_src, block_op = arguments[args[1]], args[1], (_LOAD_FAST, 1)
    else:
        return None
    if facts.layout == "3.11+":
        source = f"lambda {', '.join(args)}: {'.'.join(path)}({args[0]}, {block_src})"
        here = _compiled_here(source)
        same = (here.co_code == facts.code and here.co_names == facts.names
                and tuple(here.co_consts) == tuple(facts.consts) and here.co_varnames == facts.varnames)
    else:
        same = facts.code == _wordcode_3_7_to_3_10(len(path), block_op)
    return block if same else None
