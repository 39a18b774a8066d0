"""A safe, plain-data encoding for values that cross the trust boundary.

The untrusted program's return values reach the trusted checker only as JSON text and are rebuilt there
from a closed set of builtin types (None, bool, int, float, complex, str, bytes, list, tuple, dict, set,
frozenset). No object of the untrusted program ever reaches the checker, so an object whose ``__eq__``
always answers True (the false pass of human-eval PR #67) becomes, at best, some plain value that is then
compared honestly. Nothing here unpickles or evaluates anything.

Encoding: JSON scalars and lists stand for themselves; every other value is a one-key tagged object, e.g.
``{"t": [1, 2]}`` for a tuple. Values of other types are encoded as ``{"o": [type name, repr]}`` and
decode to an :class:`Opaque`, which equals nothing, so a test comparing it fails as it would in the
untrusted process for an honest but unusual type.

Values that an honest program returns and tests commonly consume are carried as well, rebuilt on the trusted
side as real objects of the same type from their plain data: ``range``, ``collections.deque``, ``bytearray``,
dict views, ``decimal.Decimal``, ``fractions.Fraction``, the ``datetime`` types and numpy arrays. An
iterator (a generator, ``map``, ``filter``, ``zip``...) is run to its end in the process that returns it and
is rebuilt as a generator that yields the same items, then raises what the original raised, so that
``tuple(f(x))``, ``sorted(f(x))`` and ``next(f(x))`` behave as they would in one process. Any other iterable
object travels as an :class:`Opaque` that keeps its items and length. What never crosses is behaviour:
methods, ``__eq__``, callables.
"""

from __future__ import annotations

import builtins
import json
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any

MAX_DEPTH = 200
MAX_INT_DIGITS = 4000  # Python's own default limit for int <-> str conversion
MAX_ITEMS = 100_000  # items carried of one iterator or unknown iterable; past them it raises
MAX_ARRAY_ITEMS = 1_000_000  # elements of one numpy array
_MAX_ARRAY_BYTES = 64 << 20


class CodecError(ValueError):
    """The data is not a valid encoding (only ever raised while decoding untrusted data)."""


Raiser = Callable[[str, str, bool], BaseException]
_BOUNDARY = "only data values (numbers, strings, containers, numpy arrays) cross the sandbox boundary"


def rebuild_exception(name: str, text: str, is_exception: bool) -> BaseException:
    """An exception of the builtin type called ``name`` (RuntimeError for any other), from plain data."""
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and name not in ("StopIteration", "StopAsyncIteration"):
        try:
            return cls(text)
        except Exception:
            pass
    return RuntimeError(f"{name}: {text}")


def _replay(items: list[Any], end: Any, raised: Raiser) -> Iterator[Any]:
    """Yield what an iterator yielded, then end as it ended (exhausted, raising, or past MAX_ITEMS)."""
    yield from items
    if end == "cap":
        raise raised("RuntimeError", f"an iterator or iterable of the program yielded more than {MAX_ITEMS:,} "
                     "items; coderank carries only that many across the sandbox boundary", True)
    if end is not None:
        raise raised(end[0], end[1], end[2])


class Opaque:
    """A value of a type the codec does not carry; equal to nothing, not even itself.

    If the value was iterable its items came along (``list(x)``, ``sorted(x)``, ``len(x)`` work); nothing
    else of its behaviour did, and calling it or reading its attributes says so.
    """

    __slots__ = ("type_name", "text", "truth", "items", "end", "length", "raised")

    def __init__(self, type_name: str, text: str, truth: bool = True, items: list[Any] | None = None,
                 end: Any = None, length: int | None = None, raised: Raiser = rebuild_exception) -> None:
        self.type_name = type_name
        self.text = text
        self.truth = truth
        self.items = items
        self.end = end
        self.length = length
        self.raised = raised

    def __bool__(self) -> bool:
        return self.truth  # what bool() said in the untrusted process (so `assert not f(x)` behaves)

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__

    def __iter__(self) -> Iterator[Any]:
        if self.items is None:
            raise TypeError(f"'{self._short()}' object is not iterable")
        return _replay(self.items, self.end, self.raised)

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError(f"object of type '{self._short()}' has no len()")
        return self.length

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"'{self._short()}' object cannot be called here: it is a {self.type_name} of the other "
                        f"side, and {_BOUNDARY}, not functions or objects")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)  # protocol probes (copy, numpy, pickle) must see a plain miss
        raise AttributeError(f"'{self._short()}' object has no attribute '{name}' here: it is a {self.type_name} "
                             f"of the other side, and {_BOUNDARY}, not objects with methods")

    def _short(self) -> str:
        return self.type_name.rsplit(".", 1)[-1]

    def __repr__(self) -> str:
        return f"<{self.type_name} {self.text[:200]}>"


def _enc(value: Any, depth: int, strict: bool) -> Any:
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
        return [_enc(v, depth + 1, strict) for v in value]
    if t is tuple:
        return {"t": [_enc(v, depth + 1, strict) for v in value]}
    if t is dict:
        return {"d": [[_enc(k, depth + 1, strict), _enc(v, depth + 1, strict)] for k, v in value.items()]}
    if t is set or t is frozenset:
        return {"s" if t is set else "fs": [_enc(v, depth + 1, strict) for v in value]}
    if t is complex:
        return {"c": [_enc(value.real, depth, strict), _enc(value.imag, depth, strict)]}
    if t is bytes:
        return {"b": value.hex()}
    # Subclasses of the plain types compare like their base (namedtuple == tuple, OrderedDict == dict, an
    # int subclass == int, numpy scalars via .item()), so they travel as the base value. The methods
    # called here belong to untrusted objects, which is fine: this runs only in the untrusted process.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _enc(int.__index__(value), depth, strict)
    if isinstance(value, float):
        return _enc(float.__float__(value), depth, strict)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, tuple):
        return {"t": [_enc(v, depth + 1, strict) for v in tuple.__iter__(value)]}
    if isinstance(value, list):
        return [_enc(v, depth + 1, strict) for v in list.__iter__(value)]
    if isinstance(value, dict):
        return {"d": [[_enc(k, depth + 1, strict), _enc(v, depth + 1, strict)] for k, v in dict.items(value)]}
    if isinstance(value, (set, frozenset)):
        return {"s" if isinstance(value, set) else "fs": [_enc(v, depth + 1, strict) for v in value]}
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        return _enc(item(), depth, strict)
    known = _enc_known(value, depth, strict)
    if known is not None:
        return known
    if isinstance(value, Opaque):  # a value that came from the other side goes back as it came
        body: list[Any] = [value.type_name, value.text, value.truth]
        if value.items is not None:
            body += [[_enc(v, depth + 1, strict) for v in value.items], value.end, value.length]
        return {"o": body}
    try:
        text = repr(value)[:1000]
    except Exception:  # an untrusted __repr__ may raise anything
        text = "?"
    try:
        truth = bool(value)
    except Exception:
        truth = True
    body = [_type_name(t), text, truth]
    if hasattr(t, "__iter__") and not isinstance(value, type):
        items, end = _run_out(value, depth, strict)
        try:
            length = len(value) if hasattr(t, "__len__") else None
        except Exception:
            length = None
        if items is not None:
            body += [items, end, length if type(length) is int else None]
            return {"o": body}
    if strict:
        kind = "a function" if callable(value) else "an object"
        raise CodecError(f"{kind} ({_type_name(t)}), which is not a data value: {_BOUNDARY}")
    return {"o": body}


def _type_name(t: type) -> str:
    module = getattr(t, "__module__", None)
    name = getattr(t, "__qualname__", "?")
    return name if module in (None, "builtins", "__main__") else f"{module}.{name}"


def _module_type(module: str, name: str) -> Any:
    """A class of a module the process has already imported (else None): no value of it can exist then."""
    mod = sys.modules.get(module)
    return getattr(mod, name, None) if mod is not None else None


def _enc_known(value: Any, depth: int, strict: bool) -> Any:
    """Encode the non-builtin value types the codec carries; None for any other."""
    t = type(value)
    if t is range:
        return {"rg": [value.start, value.stop, value.step]}
    if isinstance(value, bytearray):
        return {"ba": bytes(value).hex()}
    if t is type({}.keys()):
        return {"dk": [_enc(v, depth + 1, strict) for v in value]}
    if t is type({}.values()):
        return {"dv": [_enc(v, depth + 1, strict) for v in value]}
    if t is type({}.items()):
        return {"di": [[_enc(k, depth + 1, strict), _enc(v, depth + 1, strict)] for k, v in value]}
    deque = _module_type("collections", "deque")
    if deque is not None and isinstance(value, deque):
        return {"dq": [[_enc(v, depth + 1, strict) for v in deque.__iter__(value)], value.maxlen]}
    ndarray = _module_type("numpy", "ndarray")
    if ndarray is not None and isinstance(value, ndarray):
        return _enc_array(value, depth, strict)
    decimal = _module_type("decimal", "Decimal")
    if decimal is not None and isinstance(value, decimal):
        return {"dec": decimal.__str__(value)}
    fraction = _module_type("fractions", "Fraction")
    if fraction is not None and isinstance(value, fraction):
        return {"fr": [_enc(int(value.numerator), depth, strict), _enc(int(value.denominator), depth, strict)]}
    dt = sys.modules.get("datetime")
    if dt is not None:
        for kind in ("datetime", "date", "time"):  # datetime first: it is a subclass of date
            if isinstance(value, getattr(dt, kind)):
                return {"dt": [kind, getattr(dt, kind).isoformat(value)]}
        if isinstance(value, dt.timedelta):
            return {"dt": ["timedelta", [value.days, value.seconds, value.microseconds]]}
    if hasattr(t, "__next__") and hasattr(t, "__iter__"):
        try:
            is_iterator = iter(value) is value
        except Exception:
            is_iterator = False
        if is_iterator:
            items, end = _run_out(value, depth, strict)
            return {"it": [items or [], end]}
    return None


def _run_out(value: Any, depth: int, strict: bool) -> tuple[list[Any] | None, Any]:
    """Encode what iterating ``value`` yields (at most MAX_ITEMS items) and how the iteration ended.

    The end is None (exhausted), "cap" (items were left) or [exception type name, message, True].
    """
    try:
        it = iter(value)
    except Exception:
        return None, None
    items: list[Any] = []
    while True:
        try:
            v = next(it)
        except StopIteration:
            return items, None
        except Exception as exc:
            try:
                msg = str(exc)[:500]
            except Exception:
                msg = "?"
            return items, [type(exc).__name__, msg, True]
        if len(items) >= MAX_ITEMS:
            return items, "cap"
        items.append(_enc(v, depth + 1, strict))


def _enc_array(value: Any, depth: int, strict: bool) -> Any:
    np = sys.modules["numpy"]
    arr = np.asarray(value).view(np.ndarray)
    kind = arr.dtype.kind
    if arr.size > MAX_ARRAY_ITEMS or kind not in "biufcUSO":
        return None
    flat = arr.ravel()
    items = [_enc(v, depth + 1, strict) for v in (flat.tolist() if kind != "O" else list(flat))]
    return {"np": [arr.dtype.str, [int(n) for n in arr.shape], items]}


def encode_node(value: Any, strict: bool = False) -> Any:
    """Encode a value as a JSON-ready node (lists, dicts, scalars) to embed in a larger message.

    With ``strict``, a value that would cross as a bare :class:`Opaque` (a function, an object with
    methods but no items) is refused instead; one that came from the other side as an Opaque is not.

    Raises:
        CodecError: the value is nested deeper than ``MAX_DEPTH``, or ``strict`` refused a value.
    """
    try:
        return _enc(value, 0, strict)
    except RecursionError as exc:
        raise CodecError("value nested too deeply") from exc


def encode(value: Any) -> str:
    """Encode a value as JSON text.

    Raises:
        CodecError: the value is nested deeper than ``MAX_DEPTH``.
    """
    return json.dumps(encode_node(value), ensure_ascii=False, separators=(",", ":"))


def _dec(node: Any, depth: int, raised: Raiser) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    t = type(node)
    if node is None or t is bool or t is int or t is float or t is str:
        return node
    if t is list:
        return [_dec(v, depth + 1, raised) for v in node]
    if t is not dict or len(node) != 1:
        raise CodecError(f"unexpected {t.__name__} in encoded value")
    ((tag, body),) = node.items()
    if tag == "t" and type(body) is list:
        return tuple(_dec(v, depth + 1, raised) for v in body)
    if tag == "d" and type(body) is list:
        return dict(_pairs(body, depth, raised))
    if tag in ("s", "fs") and type(body) is list:
        items = [_hashable(_dec(v, depth + 1, raised)) for v in body]
        return set(items) if tag == "s" else frozenset(items)
    if tag == "f" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "c" and type(body) is list and len(body) == 2:
        re_, im = (_dec(v, depth + 1, raised) for v in body)
        if type(re_) is not float or type(im) is not float:
            raise CodecError("malformed complex")
        return complex(re_, im)
    if tag in ("b", "ba") and type(body) is str:
        try:
            return bytes.fromhex(body) if tag == "b" else bytearray.fromhex(body)
        except ValueError as exc:
            raise CodecError("malformed bytes") from exc
    if tag == "big" and type(body) is str:
        try:
            return int(body, 16)
        except ValueError as exc:
            raise CodecError("malformed integer") from exc
    if type(body) is list:
        return _dec_known(tag, body, depth, raised)
    if tag == "dec" and type(body) is str and len(body) <= 2 * MAX_INT_DIGITS:
        import decimal

        try:
            return decimal.Decimal(body)
        except (ArithmeticError, ValueError) as exc:
            raise CodecError("malformed decimal") from exc
    raise CodecError(f"unknown tag {tag!r} in encoded value")


def _pairs(body: list[Any], depth: int, raised: Raiser) -> Iterator[tuple[Any, Any]]:
    for pair in body:
        if type(pair) is not list or len(pair) != 2:
            raise CodecError("malformed dict entry")
        yield _hashable(_dec(pair[0], depth + 1, raised)), _dec(pair[1], depth + 1, raised)


def _end(end: Any) -> Any:
    """Validate how an iteration ended: None, "cap" or [type name, message, is an Exception]."""
    if end is None or end == "cap":
        return end
    if type(end) is list and len(end) == 3 and type(end[0]) is str and type(end[1]) is str \
            and type(end[2]) is bool:
        return [end[0][:100], end[1][:500], end[2]]
    raise CodecError("malformed end of an iteration")


def _dec_known(tag: str, body: list[Any], depth: int, raised: Raiser) -> Any:
    """Rebuild the tagged values whose body is a list (everything but scalars)."""
    if tag == "it" and len(body) == 2 and type(body[0]) is list:
        return _replay([_dec(v, depth + 1, raised) for v in body[0]], _end(body[1]), raised)
    if tag == "o" and len(body) in (3, 6) and type(body[0]) is str and type(body[1]) is str \
            and type(body[2]) is bool:
        if len(body) == 3:
            return Opaque(body[0], body[1], body[2], raised=raised)
        if type(body[3]) is not list or not (body[5] is None or type(body[5]) is int and body[5] >= 0):
            raise CodecError("malformed opaque value")
        items = [_dec(v, depth + 1, raised) for v in body[3]]
        return Opaque(body[0], body[1], body[2], items, _end(body[4]), body[5], raised)
    if tag == "rg" and len(body) == 3 and all(type(v) is int for v in body) and body[2] != 0:
        return range(*body)
    if tag == "dq" and len(body) == 2 and type(body[0]) is list \
            and (body[1] is None or type(body[1]) is int and 0 <= body[1] <= sys.maxsize):
        from collections import deque

        return deque([_dec(v, depth + 1, raised) for v in body[0]], body[1])
    if tag == "dk":
        return dict.fromkeys(_hashable(_dec(v, depth + 1, raised)) for v in body).keys()
    if tag == "dv":
        return dict(enumerate(_dec(v, depth + 1, raised) for v in body)).values()
    if tag == "di":
        return dict(_pairs(body, depth, raised)).items()
    if tag == "fr" and len(body) == 2:
        num, den = (_dec(v, depth + 1, raised) for v in body)
        if type(num) is not int or type(den) is not int or den <= 0:
            raise CodecError("malformed fraction")
        from fractions import Fraction

        return Fraction(num, den)
    if tag == "dt" and len(body) == 2:
        return _dec_datetime(body[0], body[1])
    if tag == "np" and len(body) == 3:
        return _dec_array(body, depth, raised)
    raise CodecError(f"unknown tag {tag!r} in encoded value")


def _dec_datetime(kind: Any, body: Any) -> Any:
    import datetime as dt

    try:
        if kind == "timedelta" and type(body) is list and len(body) == 3 and all(type(v) is int for v in body):
            return dt.timedelta(days=body[0], seconds=body[1], microseconds=body[2])
        if kind in ("datetime", "date", "time") and type(body) is str and len(body) <= 64:
            return getattr(dt, kind).fromisoformat(body)
    except (ValueError, OverflowError) as exc:
        raise CodecError(f"malformed {kind}") from exc
    raise CodecError("malformed date or time")


def _dec_array(body: list[Any], depth: int, raised: Raiser) -> Any:
    dtype, shape, flat = body
    if type(dtype) is not str or len(dtype) > 16 or type(shape) is not list or len(shape) > 32 \
            or not all(type(n) is int and n >= 0 for n in shape) or type(flat) is not list:
        raise CodecError("malformed array")
    size = 1
    for n in shape:
        size *= n
    if size != len(flat) or size > MAX_ARRAY_ITEMS:
        raise CodecError("malformed array")
    try:
        import numpy as np
    except ImportError as exc:
        raise CodecError("a numpy array arrived, but numpy is not installed here") from exc
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError) as exc:
        raise CodecError("malformed array type") from exc
    if dt.kind not in "biufcUSO" or dt.itemsize > 1 << 16 or dt.itemsize * size > _MAX_ARRAY_BYTES:
        raise CodecError("malformed array type")
    items = [_dec(v, depth + 1, raised) for v in flat]
    try:
        if dt.kind == "O":
            arr = np.empty(size, dtype=dt)
            for i, v in enumerate(items):
                arr[i] = v
        else:
            if not all(type(v) in (bool, int, float, complex, str, bytes) for v in items):
                raise CodecError("malformed array element")
            arr = np.array(items, dtype=dt) if items else np.empty(0, dtype=dt)
        return arr.reshape(shape)
    except (ValueError, TypeError, OverflowError) as exc:
        raise CodecError(f"malformed array: {exc}"[:200]) from exc


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError as exc:
        raise CodecError("unhashable key in encoded dict or set") from exc
    return value


def decode_node(node: Any, raised: Raiser = rebuild_exception) -> Any:
    """Rebuild a plain value from a node that ``json.loads`` produced out of :func:`encode_node` output.

    ``raised(type name, message, is an Exception)`` makes the exception that a rebuilt iterator raises
    where the original raised one.

    Raises:
        CodecError: the node is not a valid encoding.
    """
    try:
        return _dec(node, 0, raised)
    except RecursionError as exc:
        raise CodecError("value nested too deeply") from exc
    except (ValueError, TypeError, ArithmeticError) as exc:  # CodecError is a ValueError: kept as it is
        if isinstance(exc, CodecError):
            raise
        raise CodecError(f"not a valid encoding: {exc}"[:300]) from exc


def decode(text: str | bytes) -> Any:
    """Rebuild a plain value from :func:`encode`'s output, treating the text as hostile.

    Raises:
        CodecError: anything that is not a valid encoding (bad JSON, unknown tags, too deep, too long a
            number).
    """
    try:
        return _dec(json.loads(text), 0, rebuild_exception)
    except CodecError:
        raise
    except (ValueError, RecursionError, TypeError, ArithmeticError) as exc:
        raise CodecError(f"not a valid encoding: {exc}"[:300]) from exc
