"""Attempts to fake a pass: every program here computes a wrong answer and adds a trick.

None of them may be scored ``passed``. Each trick runs against two problems that differ only in the
style of their tests (a ``check(candidate)`` function, or a block of asserts calling the entry point),
and a positive control per style shows that the honest correct program does pass. Where the trick leaves
the program able to answer, an "honest twin" (the same trick, but the right answer) must pass too, which
shows the trick really ran and the verdict followed the value alone.
"""

from __future__ import annotations

import hashlib
import os
import textwrap
import time
import uuid
from collections.abc import Iterator

import pytest

from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.types import Problem, Status, Verdict

LIMITS = Limits(cpu_seconds=1.0, wall_seconds=2.0)
WRONG, RIGHT = "a - b", "a + b"
CANARY = f"coderank-canary-{uuid.uuid4().hex}"  # appears only in trusted test code

STYLES = {
    "check_function": Problem(
        task_id="faking/add/check", prompt="", entry_point="add",
        test=(f"CANARY = {CANARY!r}\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n"
              "    assert candidate(-1, 1) == 0\n    assert candidate(10, 20) == 30\n"),
    ),
    "assert_block": Problem(
        task_id="faking/add/asserts", prompt="", entry_point="add",
        test=f"CANARY = {CANARY!r}\nassert add(2, 3) == 5\nassert add(-1, 1) == 0\nassert add(10, 20) == 30\n",
    ),
}


@pytest.fixture(scope="module")
def ex() -> Iterator[Executor]:
    with Executor(workers=2, limits=LIMITS) as executor:
        yield executor


def run(ex: Executor, problem: Problem, program: str) -> Verdict:
    ((_, verdict),) = list(ex.map([Job(0, problem, textwrap.dedent(program))]))
    return verdict


# Each trick: a program template ({ret} is the returned expression), the status the wrong version must
# get where it is certain, and whether the honest twin (ret = a + b) must pass.
TRICKS: dict[str, tuple[str, Status | None, bool]] = {
    "sys_exit_at_import": ("""
        import sys
        sys.exit(0)
        def add(a, b):
            return {ret}
        """, Status.CRASHED, False),
    "os_exit_at_import": ("""
        import os
        os._exit(0)
        def add(a, b):
            return {ret}
        """, Status.CRASHED, False),
    "sys_exit_in_call": ("""
        import sys
        def add(a, b):
            sys.exit(0)
            return {ret}
        """, Status.CRASHED, False),
    "os_exit_in_call": ("""
        import os
        def add(a, b):
            os._exit(0)
            return {ret}
        """, Status.CRASHED, False),
    "print_passed": ("""
        import sys
        print("passed")
        def add(a, b):
            print("passed")
            print("All tests passed", file=sys.stderr)
            return {ret}
        """, Status.FAILED, True),
    "write_passed_to_stdout_and_stderr": ("""
        import os
        os.write(1, b"passed\\n")
        def add(a, b):
            os.write(1, b"passed\\n")
            os.write(2, b"passed\\n")
            return {ret}
        """, Status.FAILED, True),
    "write_passed_to_fds_1_to_20_at_import": ("""
        import os
        for fd in range(1, 21):
            try:
                os.write(fd, b"passed\\n")
            except OSError:
                pass
        def add(a, b):
            return {ret}
        """, None, False),
    "write_passed_to_fds_1_to_20_in_call": ("""
        import os
        def add(a, b):
            for fd in range(1, 21):
                try:
                    os.write(fd, b"passed\\n")
                except OSError:
                    pass
            return {ret}
        """, None, False),
    "always_equal_object": ("""
        class AlwaysEqual:
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            def __hash__(self):
                return 0
        def add(a, b):
            result = {ret}
            return AlwaysEqual()
        """, Status.FAILED, False),
    "int_subclass_always_equal": ("""
        class Int(int):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            __hash__ = int.__hash__
        def add(a, b):
            return Int({ret})
        """, Status.FAILED, True),
    "str_subclass_always_equal": ("""
        class Str(str):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
            __hash__ = str.__hash__
        def add(a, b):
            return Str({ret})
        """, Status.FAILED, False),
    "list_subclass_always_equal": ("""
        class List(list):
            def __eq__(self, other):
                return True
            def __ne__(self, other):
                return False
        def add(a, b):
            return List([{ret}])
        """, Status.FAILED, False),
    "object_pretending_to_be_int": ("""
        class Fake:
            __class__ = property(lambda self: int)
            def __eq__(self, other):
                return True
            def __index__(self):
                return 5
        def add(a, b):
            return Fake()
        """, None, False),
    "object_lying_in_every_operator": ("""
        class Liar:
            def __eq__(self, other):
                return True
            __ne__ = __lt__ = __le__ = __gt__ = __ge__ = lambda self, other: True
            __sub__ = __rsub__ = __add__ = __radd__ = lambda self, other: 0
            def __abs__(self):
                return 0
            def __hash__(self):
                return hash(5)
            def __bool__(self):
                return True
            def __getattr__(self, name):
                return lambda *args: True
        def add(a, b):
            result = {ret}
            return Liar()
        """, Status.FAILED, False),
    "lying_objects_inside_containers": ("""
        class AlwaysEqual:
            def __eq__(self, other):
                return True
            def __hash__(self):
                return 0
        def add(a, b):
            result = {ret}
            return [AlwaysEqual()][0] if a > 100 else {{"x": AlwaysEqual()}}["x"]
        """, Status.FAILED, False),
    "object_pretending_to_be_a_collection": ("""
        import collections, enum
        class Fake:
            __class__ = property(lambda self: collections.deque)
            _fields = ("x",)
            name = "RED"
            def __eq__(self, other):
                return True
            def __len__(self):
                return 1
            def __iter__(self):
                return iter([5])
        def add(a, b):
            result = {ret}
            return Fake()
        """, None, False),
    "patch_builtin_exceptions": ("""
        import builtins
        class Never(Exception):
            pass
        builtins.AssertionError = Never
        builtins.__dict__["TypeError"] = Never
        builtins.__dict__["print"] = lambda *args, **kwargs: None
        def add(a, b):
            builtins.AssertionError = Never
            return {ret}
        """, Status.FAILED, True),
    "patch_builtin_isinstance": ("""
        import builtins
        builtins.__dict__["isinstance"] = lambda *args: True
        builtins.__dict__["type"] = lambda *args: int
        def add(a, b):
            return {ret}
        """, None, False),
    "patch_check_through_frames": ("""
        import sys
        def neuter():
            frame = sys._getframe()
            while frame is not None:
                for names in (frame.f_globals, frame.f_locals):
                    for name in ("check", "candidate", "add", "AssertionError"):
                        if name in names and names is not globals():
                            try:
                                names[name] = lambda *args, **kwargs: None
                            except Exception:
                                pass
                frame = frame.f_back
        neuter()
        def add(a, b):
            neuter()
            return {ret}
        """, Status.FAILED, True),
    "patch_check_through_inspect": ("""
        import inspect
        def neuter():
            for info in inspect.stack(context=0):
                for names in (info.frame.f_globals, info.frame.f_locals):
                    if "check" in names:
                        names["check"] = lambda *args, **kwargs: None
        def add(a, b):
            neuter()
            return {ret}
        """, Status.FAILED, True),
    "patch_check_through_gc": ("""
        import gc
        def noop(*args, **kwargs):
            return None
        def neuter():
            for obj in gc.get_objects():
                if type(obj) is dict and "check" in obj:
                    obj["check"] = noop
                name = getattr(obj, "__name__", None) if type(obj).__name__ == "function" else None
                if name in ("check", "candidate") and obj is not noop:
                    obj.__code__ = noop.__code__
        neuter()
        def add(a, b):
            neuter()
            return {ret}
        """, Status.FAILED, True),
    "kill_the_parent": ("""
        import os
        def add(a, b):
            try:
                os.kill(os.getppid(), 9)
            except OSError:
                pass
            return {ret}
        """, Status.FAILED, True),
    "raise_base_exception_subclass": ("""
        class Escape(BaseException):
            pass
        def add(a, b):
            result = {ret}
            raise Escape("passed")
        """, Status.ERROR, False),
    "raise_base_exception_subclass_at_import": ("""
        class Escape(BaseException):
            pass
        def add(a, b):
            return {ret}
        raise Escape("passed")
        """, Status.ERROR, False),
    "raise_keyboard_interrupt": ("""
        def add(a, b):
            result = {ret}
            raise KeyboardInterrupt
        """, Status.ERROR, False),
    "raise_generator_exit": ("""
        def add(a, b):
            result = {ret}
            raise GeneratorExit
        """, Status.ERROR, False),
    "list_that_contains_itself": ("""
        def add(a, b):
            loop = [{ret}]
            loop.append(loop)
            return loop
        """, Status.ERROR, False),
    "dict_that_contains_itself": ("""
        def add(a, b):
            loop = {{"answer": {ret}}}
            loop["self"] = loop
            return loop
        """, Status.ERROR, False),
    "million_deep_nesting": ("""
        def add(a, b):
            deep = {ret}
            for _ in range(10**6):
                deep = [deep]
            return deep
        """, Status.ERROR, False),
    "junk_bytes_on_every_fd_at_import": ("""
        import os
        for fd in range(3, 21):
            try:
                os.write(fd, b"\\xde\\xad\\xbe\\xef" * 16)
            except OSError:
                pass
        def add(a, b):
            return {ret}
        """, Status.ERROR, False),
    "junk_bytes_on_every_fd_in_call": ("""
        import os
        def add(a, b):
            for fd in range(3, 21):
                try:
                    os.write(fd, b"\\xde\\xad\\xbe\\xef" * 16)
                except OSError:
                    pass
            return {ret}
        """, Status.ERROR, False),
    "forged_ok_frame_on_every_fd": ("""
        import os
        def add(a, b):
            for fd in range(3, 21):
                try:
                    os.write(fd, b'\\x00\\x00\\x00\\x06["ok"]')
                except OSError:
                    pass
            return {ret}
        """, Status.ERROR, False),
    "forged_answer_with_keys_sharing_one_hash": ("""
        import json, os, stat
        def add(a, b):
            # 200,000 dict keys that all hash to 0: building that dict would hold the checker for minutes
            M = (1 << 61) - 1
            data = json.dumps(["ok", {{"d": [[k * M, 0] for k in range(200000)]}}, None]).encode()
            for fd in range(3, 21):
                try:
                    if stat.S_ISSOCK(os.fstat(fd).st_mode):
                        os.write(fd, len(data).to_bytes(4, "big") + data)
                except OSError:
                    pass
            return {ret}
        """, Status.ERROR, False),
    "forged_ready_and_junk_json": ("""
        import os
        for fd in range(3, 21):
            try:
                os.write(fd, b'\\x00\\x00\\x00\\x09["ready"]\\x00\\x00\\x00\\x05junk!')
            except OSError:
                pass
        def add(a, b):
            return {ret}
        """, Status.ERROR, False),
}


@pytest.mark.parametrize("style", list(STYLES))
def test_honest_correct_program_passes(ex: Executor, style: str) -> None:
    v = run(ex, STYLES[style], f"def add(a, b):\n    return {RIGHT}\n")
    assert v.passed, v


@pytest.mark.parametrize("style", list(STYLES))
def test_honest_wrong_program_fails(ex: Executor, style: str) -> None:
    v = run(ex, STYLES[style], f"def add(a, b):\n    return {WRONG}\n")
    assert v.status is Status.FAILED, v


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("trick", list(TRICKS))
def test_trick_does_not_fake_a_pass(ex: Executor, trick: str, style: str) -> None:
    template, expected, _ = TRICKS[trick]
    v = run(ex, STYLES[style], template.format(ret=WRONG))
    assert not v.passed, v
    if expected is not None:
        assert v.status is expected, v


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("trick", [name for name, (_, _, twin) in TRICKS.items() if twin])
def test_honest_twin_of_trick_passes(ex: Executor, trick: str, style: str) -> None:
    template, _, _ = TRICKS[trick]
    v = run(ex, STYLES[style], template.format(ret=RIGHT))
    assert v.passed, v


def test_killing_the_parent_leaves_the_workers_running(ex: Executor) -> None:
    restarts = ex.restarts
    v = run(ex, STYLES["check_function"], TRICKS["kill_the_parent"][0].format(ret=WRONG))
    assert v.status is Status.FAILED, v
    assert ex.restarts == restarts


# --- searching the program's own memory for the tests or their answers -----------------------------

def _scanner(marker: str) -> str:
    """Module code for the untrusted side: functions that look for ``marker`` in objects and in raw
    memory without ever holding the marker itself (only its first half and its hash)."""
    half = marker[: len(marker) // 2]
    return textwrap.dedent(f"""
        import gc, hashlib, sys, types
        HALF = bytes.fromhex({half.encode().hex()!r})
        DIGEST = {hashlib.sha256(marker.encode()).hexdigest()!r}
        SIZE = {len(marker.encode())}

        def hits_in(data):
            found, i = [], data.find(HALF)
            while i != -1:
                if hashlib.sha256(data[i:i + SIZE]).hexdigest() == DIGEST:
                    found.append(bytes(data[i:i + SIZE]).decode())
                i = data.find(HALF, i + 1)
            return found

        def scan_objects():
            found, text_half = [], HALF.decode()
            def look(value):
                if type(value) is str and text_half in value:
                    found.extend(hits_in(value.encode(errors="surrogatepass")))
                elif type(value) in (bytes, bytearray):
                    found.extend(hits_in(bytes(value)))
                elif type(value) is types.CodeType:
                    for const in value.co_consts:
                        look(const)
            roots = gc.get_objects() + list(sys.modules.values())
            for frame in sys._current_frames().values():
                while frame is not None:
                    roots += [frame.f_code, frame.f_locals, frame.f_globals]
                    frame = frame.f_back
            for obj in roots:
                look(obj)
                for ref in gc.get_referents(obj):
                    look(ref)
                    if type(ref) is dict:
                        for key, value in ref.items():
                            look(key)
                            look(value)
            return found

        def scan_memory():
            found = []
            with open("/proc/self/maps") as fh:
                regions = [line.split() for line in fh]
            with open("/proc/self/mem", "rb", buffering=0) as mem:
                for region in regions:
                    if not region[1].startswith("r") or region[-1] in ("[vvar]", "[vvar_vclock]", "[vsyscall]"):
                        continue
                    lo, hi = (int(x, 16) for x in region[0].split("-"))
                    try:
                        mem.seek(lo)
                        data = mem.read(hi - lo)
                    except (OSError, OverflowError, ValueError):
                        continue
                    found.extend(hits_in(data))
            return found
        """)


def _plant(marker: str) -> str:
    """Module code that keeps a copy of ``marker`` in the program's memory (for the positive controls)."""
    half = len(marker) // 2
    return (f"PLANTED = {{'copy': bytes.fromhex({marker[:half].encode().hex()!r}).decode()"
            f" + bytes.fromhex({marker[half:].encode().hex()!r}).decode()}}\n")


COUNT_CANARY = Problem(  # the tests hold a canary and expect the program to find no copy of it
    task_id="faking/canary", prompt="", entry_point="search",
    test=f"CANARY = {CANARY!r}\n\ndef check(candidate):\n    assert candidate() == 0, 'the program found the tests'\n",
)
ANSWER = f"secret-answer-{uuid.uuid4().hex}"
GUESS_ANSWER = Problem(  # the expected answer exists only in the tests; a program can only find it by cheating
    task_id="faking/answer", prompt="", entry_point="search",
    test=f"def check(candidate):\n    assert candidate() == {ANSWER!r}\n",
)


@pytest.mark.parametrize("scan", ["scan_objects", "scan_memory"])
def test_test_code_is_not_in_the_programs_memory(ex: Executor, scan: str) -> None:
    program = _scanner(CANARY) + f"def search():\n    return len({scan}())\n"
    v = run(ex, COUNT_CANARY, program)
    assert v.passed, v
    control = run(ex, COUNT_CANARY, _plant(CANARY) + program)  # the scan does find a planted copy
    assert control.status is Status.FAILED, control


@pytest.mark.parametrize("scan", ["scan_objects", "scan_memory"])
def test_expected_answer_is_not_in_the_programs_memory(ex: Executor, scan: str) -> None:
    program = _scanner(ANSWER) + f"def search():\n    found = {scan}()\n    return found[0] if found else 'no idea'\n"
    v = run(ex, GUESS_ANSWER, program)
    assert not v.passed, v
    control = run(ex, GUESS_ANSWER, _plant(ANSWER) + program)  # the scan does find a planted copy
    assert control.passed, control


def test_stack_of_the_program_holds_no_test_names(ex: Executor) -> None:
    problem = Problem(
        task_id="faking/stack", prompt="", entry_point="names",
        test=("def check(candidate):\n    seen = candidate()\n"
              "    assert 'check' not in seen and 'candidate' not in seen, seen\n"),
    )
    v = run(ex, problem, """
        import sys
        def names():
            seen = set()
            for frame in sys._current_frames().values():
                while frame is not None:
                    seen.update(frame.f_globals)
                    seen.update(frame.f_locals)
                    seen.add(frame.f_code.co_name)
                    frame = frame.f_back
            return sorted(seen)
        """)
    assert v.passed, v


# --- values whose meaning the trusted side cannot see ------------------------------------------------

TRUTHY = Problem(
    task_id="faking/truthy", prompt="", entry_point="is_prime",
    test="def check(candidate):\n    assert candidate(7)\n    assert candidate(13)\n",
)


def test_honest_correct_program_passes_truthiness_tests(ex: Executor) -> None:
    v = run(ex, TRUTHY, "def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, n))\n")
    assert v.passed, v


def test_falsy_object_does_not_pass_a_truthiness_test(ex: Executor) -> None:
    v = run(ex, TRUTHY, """
        class No:
            def __bool__(self):
                return False
        def is_prime(n):
            return No()  # wrong everywhere: `assert No()` fails in any Python process
        """)
    assert not v.passed, v


STOP = Problem(
    task_id="faking/stopiteration", prompt="", entry_point="is_even",
    test=("def check(candidate):\n    assert all(map(candidate, [2, 4, 6]))\n"
          "    assert not any(map(candidate, [1, 3]))\n"),
)


def test_honest_correct_program_passes_map_based_tests(ex: Executor) -> None:
    v = run(ex, STOP, "def is_even(n):\n    return n % 2 == 0\n")
    assert v.passed, v


def test_stop_iteration_from_the_program_does_not_end_the_tests_early(ex: Executor) -> None:
    v = run(ex, STOP, "def is_even(n):\n    raise StopIteration\n")
    assert not v.passed, v


@pytest.mark.slow
def test_huge_flat_answer_is_not_passed_and_the_checker_stays_small(fresh_executor) -> None:
    ex = fresh_executor(workers=1, limits=Limits(cpu_seconds=2.0, wall_seconds=8.0))
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as fh:
        checkers = [int(pid) for pid in fh.read().split()]  # the workers: each is a checker

    def peak_kib() -> int:
        total = 0
        for pid in checkers:
            try:
                with open(f"/proc/{pid}/status") as fh:
                    total += next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
            except OSError:
                pass
        return total

    before = peak_kib()
    start = time.monotonic()
    v = run(ex, STYLES["check_function"], """
        import os, socket, struct, time
        def add(a, b):
            body = b'["ok",[' + b"[]," * (20 << 20) + b'[]],null]'  # about 60 MiB of empty lists
            frame = struct.pack(">I", len(body)) + body
            for fd in range(3, 30):
                try:
                    socket.socket(fileno=os.dup(fd)).getsockname()
                except OSError:
                    continue
                view = memoryview(frame)
                while view:
                    view = view[os.write(fd, view):]
                break
            time.sleep(5)
        """)
    assert not v.passed, v
    assert time.monotonic() - start < 8.0 + 1.0
    assert peak_kib() - before < 1 << 20, "a 60 MiB answer made the trusted checker grow by more than 1 GiB"


# --- functions of the tests that the program may call ----------------------------------------------------

CALLBACK = Problem(  # the tests pass the program a function; their expected answer must stay out of its reach
    task_id="faking/callback", prompt="", entry_point="search",
    test=(f"CANARY = {CANARY!r}\n\ndef check(candidate):\n    found = candidate(lambda v: len(v))\n"
          f"    assert CANARY not in found, 'the program reached the tests through their function'\n"
          f"    assert found == {ANSWER!r}\n"),
)


@pytest.mark.parametrize("handles", [1, 2])
def test_a_function_of_the_tests_gives_the_program_nothing_but_its_calls(ex: Executor, handles: int) -> None:
    v = run(ex, CALLBACK, """
        import os
        from coderank.execution import _frames
        def search(key):
            found = []
            attempts = (lambda: key.__globals__, lambda: key.__closure__, lambda: key.__code__,
                        lambda: key.CANARY, lambda: key.__self__, lambda: vars(key), lambda: key("abc"),
                        lambda: str(key), lambda: len(key), lambda: key[0], lambda: key(None))
            for attempt in attempts:
                try:
                    found.append(repr(attempt()))
                except BaseException as exc:
                    found.append(type(exc).__name__ + ": " + str(exc))
            # Forged requests on every descriptor (one is the channel): other operations, other handles.
            for fd in range(3, 21):
                for handle in range(HANDLES_N):
                    for op, name in (("getattr", "__globals__"), ("getattr", "CANARY"), ("str", None)):
                        try:
                            _frames.write_frame(fd, ["ask", [], {"d": []}, [handle, op, name]])
                            found.append(repr(_frames.read_frame(fd)))
                        except BaseException as exc:
                            found.append(type(exc).__name__)
            return "|".join(found)
        """.replace("HANDLES_N", str(handles)))
    assert not v.passed, v
    assert CANARY not in v.detail and CANARY not in v.output
    if handles == 1:  # handle 0, the function, answers TypeError to anything but a call: no canary found
        assert v.detail.startswith("test line 6 failed"), v
    else:  # handle 1 does not exist: a request for it is a protocol error
        assert v.status is Status.ERROR and "reference to an unknown object" in v.detail, v
