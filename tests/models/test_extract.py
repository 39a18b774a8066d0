"""Extraction of programs from raw answers, on answers written the way small instruct and base models write."""

import ast

import pytest

from coderank.errors import UsageError
from coderank.execution.pool import Executor, Job
from coderank.models.extract import METHODS, Extraction, extract_program
from coderank.problems import load_benchmark
from coderank.types import Problem

HE = load_benchmark("humaneval").problems

# --- realistic chat answers (HumanEval problem number -> answer) ------------------------------------------

PROSE_AND_BLOCK = (0, '''Here's the completed function:

```python
from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if in given list of numbers, are any two numbers closer to each other than
    given threshold.
    """
    for idx, elem in enumerate(numbers):
        for idx2, elem2 in enumerate(numbers):
            if idx != idx2:
                distance = abs(elem - elem2)  # symmetric, so every pair is seen twice
                if distance < threshold:
                    return True

    return False
```

### Explanation:
1. The function compares every pair of numbers.
2. If any two are closer than `threshold`, it returns `True`.
''')

USAGE_THEN_FUNCTION = (35, '''You can call it like this:

```python
result = max_element([1, 2, 3])
print(result)  # 3
```

And here is the implementation:

```python
def max_element(l: list):
    best = l[0]
    for x in l[1:]:
        if x > best:
            best = x
    return best
```
''')

DRAFT_THEN_FIX = (35, '''A first attempt:

```python
def max_element(l: list):
    best = 0
    for x in l:
        best = x if x > best else best
    return best
```

Wait — this fails when every element is negative, because `best` starts at 0. Corrected version:

```python
def max_element(l: list):
    best = l[0]
    for x in l:
        best = x if x > best else best
    return best
```
''')

BODY_ONLY_FENCED = (2, '''To get the decimal part, take the number modulo 1:

```python
    return number % 1.0
```
''')

BODY_ONLY_BARE = (23, "return len(string)")

THINK = (13, '''<think>
Okay, the user wants the gcd. Maybe something like:
```python
def greatest_common_divisor(a, b):
    return min(a, b)
```
No, that is wrong for 4 and 6. Euclid's algorithm is the way.
</think>

```python
def greatest_common_divisor(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a
```
''')

ORPHAN_CLOSING_THINK = (34, '''so the set removes duplicates and sorted() orders them. Draft:
```python
def unique(l: list):
    return l
```
</think>

Here is the solution:

```python
def unique(l: list):
    return sorted(set(l))
```
''')

UNCLOSED_THINK = (35, '''<think>
The user wants the maximum; the built-in max does it.
```python
def max_element(l: list):
    return max(l)
```''')

MAIN_AND_PRINTS = (28, '''```python
from typing import List

def concatenate(strings: List[str]) -> str:
    return ''.join(strings)

# Test cases
print(concatenate([]))  # ''
print(concatenate(['a', 'b', 'c']))  # 'abc'

if __name__ == "__main__":
    import doctest
    doctest.testmod()
```''')

NUMPY = (4, '''Using NumPy makes this short:

```python
import numpy as np
import pytest
from typing import List


def mean_absolute_deviation(numbers: List[float]) -> float:
    arr = np.array(numbers, dtype=float)
    return float(np.mean(np.abs(arr - arr.mean())))


def test_mad():
    assert mean_absolute_deviation([1.0, 2.0, 3.0, 4.0]) == pytest.approx(1.0)
```
''')

MISSING_TYPING_IMPORT = (12, '''```python
def longest(strings: List[str]) -> Optional[str]:
    if not strings:
        return None
    maxlen = max(len(x) for x in strings)
    for s in strings:
        if len(s) == maxlen:
            return s
```

The function returns `None` for an empty list.''')

HELPERS = (39, '''Let's split it into helpers:

```python
import math
import random


def is_prime(num: int) -> bool:
    if num < 2:
        return False
    for d in range(2, math.isqrt(num) + 1):
        if num % d == 0:
            return False
    return True


def fibonacci_numbers():
    a, b = 0, 1
    while True:
        yield a
        a, b = b, a + b


def prime_fib(n: int):
    count = 0
    for f in fibonacci_numbers():
        if is_prime(f):
            count += 1
            if count == n:
                return f


def print_first(k):
    for i in range(1, k + 1):
        print(prime_fib(i))


print_first(5)
```
''')

DECODE_ONLY = (38, '''Encoding rotates each group of three by one, so encoding twice more undoes it:

```python
def decode_cyclic(s: str):
    return encode_cyclic(encode_cyclic(s))
```
''')

USES_PROMPT_HELPER = (32, '''Bisection works because the polynomial changes sign somewhere:

```python
def find_zero(xs: list):
    lo, hi = -1.0, 1.0
    while poly(xs, lo) * poly(xs, hi) > 0:
        lo, hi = lo * 2, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if poly(xs, lo) * poly(xs, mid) > 0:
            lo = mid
        else:
            hi = mid
    return lo
```
''')

RAW_CODE = (13, '''def greatest_common_divisor(a: int, b: int) -> int:
    while b != 0:
        a, b = b, a % b
    return abs(a)

This uses the Euclidean algorithm: the gcd of a and b equals the gcd of b and a mod b.''')

# NUMPY is left out of the sandbox run: extraction keeps its import (tested below), but whether numpy can
# be imported inside the sandbox is the executor's business, tested with the executor.
PASSING = [PROSE_AND_BLOCK, USAGE_THEN_FUNCTION, DRAFT_THEN_FIX, BODY_ONLY_FENCED, BODY_ONLY_BARE, THINK,
           ORPHAN_CLOSING_THINK, UNCLOSED_THINK, MAIN_AND_PRINTS, MISSING_TYPING_IMPORT, HELPERS, DECODE_ONLY,
           USES_PROMPT_HELPER, RAW_CODE]


def chat(case: tuple[int, str]) -> Extraction:
    number, answer = case
    return extract_program(HE[f"HumanEval/{number}"], answer, "chat")


def top_level_names(program: str) -> list[str]:
    names = []
    for node in ast.parse(program).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.extend(a.asname or a.name for a in node.names)
        else:
            names.append(type(node).__name__)
    return names


# --- chat mode ---------------------------------------------------------------------------------------------


def test_extracted_programs_of_realistic_answers_pass_the_humaneval_tests():
    jobs = []
    for number, answer in PASSING:
        problem = HE[f"HumanEval/{number}"]
        ex = extract_program(problem, answer, "chat")
        assert ex.program is not None, (number, ex.note)
        jobs.append(Job((number, answer[:30]), problem, ex.program))
    with Executor(workers=2) as executor:
        verdicts = {job.key: verdict for job, verdict in executor.map(jobs)}
    failed = {key: f"{v.status.value}: {v.detail}" for key, v in verdicts.items() if not v.passed}
    assert not failed, failed
    assert len(verdicts) == len(PASSING)


def test_prose_around_a_fenced_block_is_dropped_and_comments_inside_are_kept():
    ex = chat(PROSE_AND_BLOCK)
    assert ex.method == "fenced-block"
    assert "Explanation" not in ex.program and "Here's" not in ex.program
    assert "# symmetric, so every pair is seen twice" in ex.program


def test_an_example_block_loses_to_the_block_that_defines_the_entry_point():
    ex = chat(USAGE_THEN_FUNCTION)
    assert ex.method == "fenced-block"
    assert "print" not in ex.program and "result" not in ex.program
    assert "chose block 2 of 2" in ex.note


def test_of_two_blocks_defining_the_entry_point_the_last_wins():
    ex = chat(DRAFT_THEN_FIX)
    assert "best = l[0]" in ex.program and "best = 0" not in ex.program


def test_a_complete_block_beats_a_later_truncated_one():
    answer = DRAFT_THEN_FIX[1] + "\nEven shorter:\n\n```python\ndef max_element(l: list):\n    return max(\n"
    ex = extract_program(HE["HumanEval/35"], answer, "chat")
    assert "best = l[0]" in ex.program and "return max(" not in ex.program


def test_a_fenced_body_is_indented_into_the_prompt():
    problem = HE["HumanEval/2"]
    ex = chat(BODY_ONLY_FENCED)
    assert ex.method == "body-only"
    assert ex.program == problem.prompt + "    return number % 1.0\n"


def test_a_bare_unindented_body_is_indented_into_the_prompt():
    ex = chat(BODY_ONLY_BARE)
    assert ex.method == "body-only"
    assert ex.program.endswith('"""\n    return len(string)\n')


def test_prose_alone_is_not_taken_for_a_body():
    ex = extract_program(HE["HumanEval/23"], "The answer is the length of the string.", "chat")
    assert ex.program is None


def test_an_example_call_without_return_is_not_taken_for_a_body():
    ex = extract_program(HE["HumanEval/23"], "```python\nprint(strlen('abc'))\n```", "chat")
    assert ex.program is None and ex.method == "none"
    assert "none defines strlen" in ex.note


def test_draft_code_inside_think_is_ignored():
    ex = chat(THINK)
    assert "min(a, b)" not in ex.program and "a % b" in ex.program
    assert "removed 1 <think> block(s)" in ex.note


def test_everything_before_an_orphan_closing_think_is_reasoning():
    ex = chat(ORPHAN_CLOSING_THINK)
    assert "sorted(set(l))" in ex.program and "return l\n" not in ex.program


def test_an_unclosed_think_is_dropped_up_to_the_first_fence():
    ex = chat(UNCLOSED_THINK)
    assert ex.method == "fenced-block" and "return max(l)" in ex.program
    assert "removed an unclosed <think> block" in ex.note


def test_a_block_without_closing_fence_is_used_and_noted():
    ex = extract_program(HE["HumanEval/23"], "```python\ndef strlen(string):\n    return len(string)\n", "chat")
    assert ex.program == "def strlen(string):\n    return len(string)\n"
    assert "closing fence is missing" in ex.note


def test_an_unclosed_think_without_code_gives_no_program():
    answer = "<think>\nThe user wants the maximum. I could loop, or I could use max, which is"
    ex = extract_program(HE["HumanEval/35"], answer, "chat")
    assert ex.program is None and ex.method == "none"
    assert "unclosed <think>" in ex.note


def test_prints_and_main_block_are_dropped():
    ex = chat(MAIN_AND_PRINTS)
    assert top_level_names(ex.program) == ["List", "concatenate"]
    assert "print(concatenate([]))" in ex.note and 'if __name__ == "__main__":' in ex.note


def test_used_imports_stay_and_unused_test_imports_go():
    ex = chat(NUMPY)
    assert top_level_names(ex.program) == ["np", "List", "mean_absolute_deviation"]
    assert "pytest" not in ex.program


def test_the_prompts_typing_import_is_prepended_when_the_answer_lacks_it():
    ex = chat(MISSING_TYPING_IMPORT)
    assert ex.program.startswith("from typing import List, Optional\n")
    assert "prepended from the prompt: from typing import List, Optional" in ex.note


def test_helpers_the_entry_point_uses_are_kept_transitively_and_others_dropped():
    ex = chat(HELPERS)
    assert top_level_names(ex.program) == ["math", "is_prime", "fibonacci_numbers", "prime_fib"]


def test_the_prompts_helper_is_prepended_when_the_answer_does_not_define_it():
    ex = chat(DECODE_ONLY)
    assert top_level_names(ex.program) == ["encode_cyclic", "decode_cyclic"]
    assert ex.program.count("def decode_cyclic") == 1  # the prompt's stub is not prepended


def test_a_helper_the_answer_defines_itself_is_not_prepended_again():
    answer = ("```python\ndef poly(xs, x):\n    return sum(c * x ** i for i, c in enumerate(xs))\n\n\n"
              "def find_zero(xs: list):\n    return -xs[0] / xs[1] if poly(xs, 0) else 0.0\n```")
    ex = extract_program(HE["HumanEval/32"], answer, "chat")
    assert top_level_names(ex.program) == ["math", "poly", "find_zero"]
    assert "c * x ** i" in ex.program


def test_unfenced_code_is_cut_before_the_prose_after_it():
    ex = chat(RAW_CODE)
    assert ex.method == "raw-code"
    assert "Euclidean" not in ex.program and "return abs(a)" in ex.program


def test_no_code_at_all_gives_no_program():
    ex = extract_program(HE["HumanEval/0"], "I'm sorry, but I can't help with that request.", "chat")
    assert ex == Extraction(None, "none", "no code block, and no code that defines has_close_elements")


def test_a_block_with_a_syntax_error_is_kept_unsanitized_so_the_error_is_scored():
    answer = "```python\ndef strlen(string: str) -> int:\n    return len(string\n\nprint(strlen('a'))\n```"
    ex = extract_program(HE["HumanEval/23"], answer, "chat")
    assert ex.method == "fenced-block"
    assert ex.program.endswith("    return len(string\n\nprint(strlen('a'))\n")
    assert "does not parse" in ex.note


def test_blocks_in_other_languages_are_ignored():
    answer = ("Install nothing:\n```bash\npip install numpy\n```\n"
              "```python\ndef strlen(string):\n    return len(string)\n```\nOutput:\n```text\n3\n```")
    ex = extract_program(HE["HumanEval/23"], answer, "chat")
    assert ex.program == "def strlen(string):\n    return len(string)\n"
    assert "ignored 2 non-Python block(s)" in ex.note


def test_a_test_block_importing_the_solution_does_not_leak_its_import():
    answer = ("```python\ndef strlen(string):\n    return len(string)\n```\nTests:\n```python\n"
              "from solution import strlen\n\nassert strlen('ab') == 2\n```")
    ex = extract_program(HE["HumanEval/23"], answer, "chat")
    assert ex.program == "def strlen(string):\n    return len(string)\n"


def test_unittest_classes_in_the_same_block_are_dropped():
    answer = ("```python\nimport unittest\n\ndef strlen(string):\n    return len(string)\n\n"
              "class TestStrlen(unittest.TestCase):\n    def test_empty(self):\n"
              "        self.assertEqual(strlen(''), 0)\n\n"
              "if __name__ == '__main__':\n    unittest.main()\n```")
    ex = extract_program(HE["HumanEval/23"], answer, "chat")
    assert top_level_names(ex.program) == ["strlen"]


def test_a_global_constant_is_kept_but_an_example_variable_named_like_a_parameter_is_not():
    answer = ('```python\nVOWELS = set("aeiou")\n\ndef strlen(string):\n    return len([c for c in string if c or c in'
              ' VOWELS])\n\nstring = "hello"\nprint(strlen(string))\n```')
    ex = extract_program(HE["HumanEval/23"], answer, "chat")
    assert top_level_names(ex.program) == ["Assign", "strlen"]
    assert ex.program.startswith('VOWELS = set("aeiou")\n')


def test_helpers_from_another_block_are_merged():
    answer = ("First a helper:\n```python\ndef _gcd(a, b):\n    return a if b == 0 else _gcd(b, a % b)\n```\n"
              "Then the function:\n```python\ndef greatest_common_divisor(a: int, b: int) -> int:\n"
              "    return _gcd(a, b)\n```")
    ex = extract_program(HE["HumanEval/13"], answer, "chat")
    assert top_level_names(ex.program) == ["_gcd", "greatest_common_divisor"]


def test_a_future_import_comes_first_even_before_the_prompts_imports():
    answer = ("```python\nfrom __future__ import annotations\n\ndef concatenate(strings: List[str]) -> str:\n"
              "    return ''.join(strings)\n```")
    ex = extract_program(HE["HumanEval/28"], answer, "chat")
    assert top_level_names(ex.program) == ["annotations", "List", "concatenate"]
    compile(ex.program, "<program>", "exec")


def test_a_statement_sharing_a_line_with_a_dropped_one_is_unparsed_alone():
    answer = "```python\nimport os; print(os.sep)\n\ndef strlen(string):\n    return len(string) + len(os.sep) - 1\n```"
    ex = extract_program(HE["HumanEval/23"], answer, "chat")
    assert ex.program.startswith("import os\n\n\ndef strlen")


@pytest.mark.parametrize(
    "answer",
    ["", "\x00\x00", "(" * 5000, "```python\n" + "(" * 5000 + "\n```", "<think>", "</think>", "```", "~~~py\n~~~",
     "```python\n    \n```", "def has_close_elements(:\n"],
)
def test_strange_answers_never_raise(answer):
    ex = extract_program(HE["HumanEval/0"], answer, "chat")
    assert ex.program is None and ex.method == "none" and ex.note
    assert "extraction failed" not in ex.note  # handled by design, not by the last-resort catch


def test_a_bug_inside_extraction_ends_as_no_program_with_the_error_in_the_note(monkeypatch):
    import coderank.models.extract as extract

    def boom(*args):
        raise RuntimeError("bug")

    monkeypatch.setattr(extract, "fenced_blocks", boom)
    ex = extract_program(HE["HumanEval/0"], "```python\npass\n```", "chat")
    assert ex == Extraction(None, "none", "extraction failed: RuntimeError: bug")


def test_a_problem_whose_prompt_is_prose_still_extracts():
    problem = Problem(task_id="t/0", prompt="Write a function add(a, b) that returns a + b.", entry_point="add",
                      test="assert add(1, 2) == 3\n")
    ex = extract_program(problem, "```python\ndef add(a, b):\n    return a + b\n```", "chat")
    assert ex.program == "def add(a, b):\n    return a + b\n"


def test_methods_are_from_the_documented_vocabulary():
    assert {chat(case).method for case in [*PASSING, NUMPY]} == {"fenced-block", "body-only", "raw-code"}
    assert {"fenced-block", "body-only", "raw-code", "completion", "none"} == set(METHODS)


def test_an_unknown_mode_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown extraction mode 'instruct'"):
        extract_program(HE["HumanEval/0"], "", "instruct")


# --- completion mode ---------------------------------------------------------------------------------------


def completion(answer: str, number: int = 23) -> Extraction:
    return extract_program(HE[f"HumanEval/{number}"], answer, "completion")


@pytest.mark.parametrize(
    "tail",
    ["\n\ndef main():\n    pass\n", "\n\nclass Foo:\n    pass\n", '\n\nif __name__ == "__main__":\n    main()\n',
     "\nprint(strlen('abc'))\n", "\n# tests\n    \n", "\nassert strlen('') == 0\n", "\n```\n\nThe function...",
     "\nfoo = 1\n"],
)
def test_a_completion_is_cut_at_the_first_top_level_line(tail):
    body = "    return len(string)\n"
    ex = completion(body + tail)
    assert ex.method == "completion"
    assert ex.program == HE["HumanEval/23"].prompt + body + tail[:tail.index(tail.lstrip("\n")[0])]


def test_a_completion_without_anything_after_the_body_is_kept_as_is():
    answer = "    # count the characters\n    n = 0\n    for _ in string:\n        n += 1\n\n    return n"
    assert completion(answer).program == HE["HumanEval/23"].prompt + answer


def test_a_column_zero_line_inside_a_string_or_brackets_does_not_cut():
    answer = '    s = """\nnot code\n"""\n    t = [\n1]\n    return len(string)\n\ndef x(): pass\n'
    ex = completion(answer)
    assert ex.program == HE["HumanEval/23"].prompt + answer[:answer.index("def x")]


def test_an_unterminated_string_falls_back_to_the_stop_sequences():
    answer = '    return len(string)\n\nprint("""oops\n'
    assert completion(answer).program == HE["HumanEval/23"].prompt + "    return len(string)\n\n"


def test_an_empty_completion_gives_no_program():
    ex = completion("\n\ndef other():\n    return 1\n")
    assert ex.program is None and ex.method == "none"


def test_a_completion_program_passes_the_tests():
    problem = HE["HumanEval/23"]
    ex = completion("    return len(string)\n\n\ndef check(candidate):\n    assert True\n")
    with Executor(workers=1) as executor:
        [(_, verdict)] = list(executor.map([Job(0, problem, ex.program)]))
    assert verdict.passed, verdict.detail


# --- class entry points (LeetCode-style problems) and echoes ------------------------------------------------

LC = load_benchmark(str(__import__("pathlib").Path(__file__).resolve().parents[2] / "examples"
                        / "leetcode_style.jsonl")).problems["leetcode-style/7"]
LC_SIG = "    def lightestHeaviestBoat(self, weights: List[int]) -> int:\n"
LC_BODY = ("        ordered = sorted(weights)\n        n = len(ordered)\n"
           "        return max(ordered[i] + ordered[n - 1 - i] for i in range(n // 2))\n")
LC_DOC = '        """\n' + "".join(f"        {line}\n" if line else "\n" for line in LC.question.splitlines())


def lc(answer: str, mode: str = "chat") -> Extraction:
    return extract_program(LC, answer, mode)


def test_a_class_answer_is_kept_whole_and_the_prompts_import_prepended():
    ex = lc("Here is my solution:\n\n```python\nclass Solution:\n" + LC_SIG + LC_BODY
            + "\n\nprint(Solution().lightestHeaviestBoat([1, 2]))\n```\n\nIt pairs the extremes.")
    assert ex.method == "fenced-block"
    assert ex.program == "from typing import List\n\n\nclass Solution:\n" + LC_SIG + LC_BODY
    assert ex.echo == 0.0


def test_a_class_answer_that_copies_the_whole_statement_as_docstring_is_an_echo_that_still_runs():
    ex = lc("```python\nfrom typing import List\n\nclass Solution:\n" + LC_SIG + LC_DOC + '        """\n' + LC_BODY
            + "```")
    assert ex.method == "fenced-block" and ex.echo == 1.0
    compile(ex.program, "answer", "exec")


def test_a_statement_cut_off_inside_its_docstring_is_the_models_syntax_error_and_an_echo():
    half = "".join(LC_DOC.splitlines(keepends=True)[:10])
    ex = lc("```python\nclass Solution:\n" + LC_SIG + half)
    assert ex.method == "fenced-block" and "does not parse" in ex.note and "kept unsanitized" in ex.note
    assert 0.5 <= ex.echo < 1.0


def test_prose_copied_into_the_block_before_the_class_is_skipped():
    first = LC.question.splitlines()[0]
    ex = lc("```python\n" + first + "\n\nclass Solution:\n" + LC_SIG + LC_BODY + "```")
    assert ex.method == "fenced-block" and "read from its first line of code" in ex.note
    assert ex.program == "from typing import List\n\n\nclass Solution:\n" + LC_SIG + LC_BODY


def test_a_body_only_answer_goes_into_the_stubs_method():
    ex = lc("```python\n" + LC_BODY.replace("        ", "", 3) + "```")
    assert ex.method == "body-only"
    assert ex.program == LC.prompt + LC_BODY


def test_a_base_models_completion_continues_the_method():
    ex = lc(LC_BODY + "\n\nif __name__ == '__main__':\n    print(1)\n", "completion")
    assert ex.program == LC.prompt + LC_BODY + "\n\n"


def test_the_echo_share_counts_copied_runs_of_words_whatever_the_layout():
    from coderank.models.extract import echo_share

    words = LC.question.split()
    half = " ".join(words[:len(words) // 2])
    assert echo_share(LC, "# " + half.replace(" ", "\n# ", 5)) == pytest.approx(0.5, abs=0.02)
    assert echo_share(LC, LC.question.upper()) == 1.0
    assert echo_share(LC, " ".join(w for i, w in enumerate(words) if i % 7)) == 0.0  # no 8 words in a row
    # Without a question, the statement is the entry point's docstring (HumanEval's prompt).
    he = HE["HumanEval/0"]
    assert echo_share(he, he.prompt) == 1.0 and echo_share(he, "def has_close_elements(): pass") == 0.0


def test_every_extraction_records_its_echo():
    # This answer copies the docstring's sentence but not its examples: about half of the statement.
    assert extract_program(HE["HumanEval/0"], PROSE_AND_BLOCK[1], "chat").echo == 0.55
    assert extract_program(HE["HumanEval/0"], "no code here", "chat").echo == 0.0
