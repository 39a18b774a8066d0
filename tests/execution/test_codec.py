import math
from collections import Counter, OrderedDict, deque, namedtuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coderank.execution._codec import CodecError, Opaque, decode, encode

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda children: st.lists(children, max_size=4)
    | st.tuples(children, children)
    | st.dictionaries(st.text(max_size=5) | st.integers(), children, max_size=4)
    | st.frozensets(st.integers() | st.text(max_size=3), max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(plain)
def test_round_trip_keeps_value_and_type(value):
    back = decode(encode(value))
    assert back == value
    assert type(back) is type(value)


def test_special_floats_and_big_ints_round_trip():
    assert math.isnan(decode(encode(float("nan"))))
    assert decode(encode(float("-inf"))) == float("-inf")
    big = 7**9000
    assert decode(encode(big)) == big
    assert decode(encode(-big)) == -big
    assert decode(encode(1 + 2j)) == 1 + 2j


def test_subclasses_travel_as_their_base_type():
    Point = namedtuple("Point", "x y")
    assert type(decode(encode(Point(1, 2)))) is tuple
    assert decode(encode(OrderedDict(a=1))) == {"a": 1}
    assert decode(encode(Counter("aab"))) == {"a": 2, "b": 1}


def test_always_equal_object_becomes_an_opaque_that_equals_nothing():
    class Liar:
        def __eq__(self, other):
            return True

    back = decode(encode(Liar()))
    assert isinstance(back, Opaque)
    assert back != 1 and not (back == back)  # noqa: SIM201 - __eq__ itself is under test


def test_int_subclass_with_lying_eq_is_compared_by_its_value():
    class LyingInt(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    back = decode(encode(LyingInt(3)))
    assert type(back) is int and back == 3 and back != 4


def test_deque_is_opaque_like_in_the_untrusted_process():
    assert decode(encode(deque([1]))) != [1]


def test_self_containing_list_is_refused():
    x: list = []
    x.append(x)
    with pytest.raises(CodecError):
        encode(x)


@pytest.mark.parametrize(
    "text",
    ['{"t": 1}', '{"zz": []}', '{"a": 1, "b": 2}', "[1, 2", '{"d": [[[], 1]]}', '{"b": "zz"}', "9" * 5000,
     "[" * 100000 + "]" * 100000],
)
def test_hostile_encodings_raise_codec_error(text):
    with pytest.raises(CodecError):
        decode(text)
