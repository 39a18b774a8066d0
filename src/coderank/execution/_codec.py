"""A safe, plain-data encoding for values that cross the trust boundary.

The untrusted program's return values reach the trusted checker only as JSON text and are rebuilt there
from a closed set of builtin types (None, bool, int, float, complex, str, bytes, list, tuple, dict, set,
frozenset). No object of the untrusted program ever reaches the checker, so an object whose ``__eq__``
always answers True (the false pass of human-eval PR #67) becomes, at best, some plain value that is then
compared honestly. Nothing here unpickles or evaluates anything.

Encoding: JSON scalars and lists stand for themselves; every other value is a one-key tagged object, e.g.
``{"t": [1, 2]}`` for a tuple. Values of other types are encoded as ``{"o": [type name, repr]}`` and
decode to an :class:`Opaque`, which equals nothing, so a test comparing it fails as it would in the
untrusted process for an honest but unusual type (a deque compared with a list).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 200
MAX_INT_DIGITS = 4000  # Python's own default limit for int <-> str conversion


class CodecError(ValueError):
    """The data is not a valid encoding (only ever raised while decoding untrusted data)."""


class Opaque:
    """A value of a type the codec does not carry; equal to nothing, not even itself."""

    __slots__ = ("type_name", "text", "truth")

    def __init__(self, type_name: str, text: str, truth: bool = True) -> None:
        self.type_name = type_name
        self.text = text
        self.truth = truth

    def __bool__(self) -> bool:
        return self.truth  # what bool() said in the untrusted process (so `assert not f(x)` behaves)

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.type_name} {self.text[:200]}>"


def _enc(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        if value.bit_length() > 3 * MAX_INT_DIGITS:
            return {"big": hex(value)}
        return value
    if t is float:
        return value if math.isfinite(value) else {"f": repr(value)}
    if t is list:
        return [_enc(v, depth + 1) for v in value]
    if t is tuple:
        return {"t": [_enc(v, depth + 1) for v in value]}
    if t is dict:
        return {"d": [[_enc(k, depth + 1), _enc(v, depth + 1)] for k, v in value.items()]}
    if t is set or t is frozenset:
        return {"s" if t is set else "fs": [_enc(v, depth + 1) for v in value]}
    if t is complex:
        return {"c": [_enc(value.real, depth), _enc(value.imag, depth)]}
    if t is bytes:
        return {"b": value.hex()}
    # Subclasses of the plain types compare like their base (namedtuple == tuple, OrderedDict == dict, an
    # int subclass == int, numpy scalars via .item()), so they travel as the base value. The methods
    # called here belong to untrusted objects, which is fine: this runs only in the untrusted process.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _enc(int.__index__(value), depth)
    if isinstance(value, float):
        return _enc(float.__float__(value), depth)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, tuple):
        return {"t": [_enc(v, depth + 1) for v in tuple.__iter__(value)]}
    if isinstance(value, list):
        return [_enc(v, depth + 1) for v in list.__iter__(value)]
    if isinstance(value, dict):
        return {"d": [[_enc(k, depth + 1), _enc(v, depth + 1)] for k, v in dict.items(value)]}
    if isinstance(value, (set, frozenset)):
        return {"s" if isinstance(value, set) else "fs": [_enc(v, depth + 1) for v in value]}
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        return _enc(item(), depth)
    try:
        text = repr(value)[:1000]
    except Exception:  # an untrusted __repr__ may raise anything
        text = "?"
    try:
        truth = bool(value)
    except Exception:
        truth = True
    return {"o": [f"{t.__module__}.{t.__qualname__}", text, truth]}


def encode_node(value: Any) -> Any:
    """Encode a value as a JSON-ready node (lists, dicts, scalars) to embed in a larger message.

    Raises:
        CodecError: the value is nested deeper than ``MAX_DEPTH``.
    """
    try:
        return _enc(value, 0)
    except RecursionError as exc:
        raise CodecError("value nested too deeply") from exc


def encode(value: Any) -> str:
    """Encode a value as JSON text.

    Raises:
        CodecError: the value is nested deeper than ``MAX_DEPTH``.
    """
    return json.dumps(encode_node(value), ensure_ascii=False, separators=(",", ":"))


def _dec(node: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    t = type(node)
    if node is None or t is bool or t is int or t is float or t is str:
        return node
    if t is list:
        return [_dec(v, depth + 1) for v in node]
    if t is not dict or len(node) != 1:
        raise CodecError(f"unexpected {t.__name__} in encoded value")
    ((tag, body),) = node.items()
    if tag == "t" and type(body) is list:
        return tuple(_dec(v, depth + 1) for v in body)
    if tag == "d" and type(body) is list:
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise CodecError("malformed dict entry")
            out[_hashable(_dec(pair[0], depth + 1))] = _dec(pair[1], depth + 1)
        return out
    if tag in ("s", "fs") and type(body) is list:
        items = [_hashable(_dec(v, depth + 1)) for v in body]
        return set(items) if tag == "s" else frozenset(items)
    if tag == "f" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "c" and type(body) is list and len(body) == 2:
        re_, im = (_dec(v, depth + 1) for v in body)
        if type(re_) is not float or type(im) is not float:
            raise CodecError("malformed complex")
        return complex(re_, im)
    if tag == "b" and type(body) is str:
        try:
            return bytes.fromhex(body)
        except ValueError as exc:
            raise CodecError("malformed bytes") from exc
    if tag == "big" and type(body) is str:
        try:
            return int(body, 16)
        except ValueError as exc:
            raise CodecError("malformed integer") from exc
    if tag == "o" and type(body) is list and len(body) == 3 and type(body[0]) is str and type(body[1]) is str \
            and type(body[2]) is bool:
        return Opaque(body[0], body[1], body[2])
    raise CodecError(f"unknown tag {tag!r} in encoded value")


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError as exc:
        raise CodecError("unhashable key in encoded dict or set") from exc
    return value


def decode_node(node: Any) -> Any:
    """Rebuild a plain value from a node that ``json.loads`` produced out of :func:`encode_node` output.

    Raises:
        CodecError: the node is not a valid encoding.
    """
    try:
        return _dec(node, 0)
    except RecursionError as exc:
        raise CodecError("value nested too deeply") from exc


def decode(text: str | bytes) -> Any:
    """Rebuild a plain value from :func:`encode`'s output, treating the text as hostile.

    Raises:
        CodecError: anything that is not a valid encoding (bad JSON, unknown tags, too deep, too long a
            number).
    """
    try:
        return _dec(json.loads(text), 0)
    except CodecError:
        raise
    except (ValueError, RecursionError, TypeError) as exc:
        raise CodecError(f"not a valid encoding: {exc}"[:300]) from exc
