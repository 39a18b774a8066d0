"""Problem files with the statement and the starter code apart (``question`` + ``starter_code``)."""

import ast
import hashlib
import inspect
import json

import pytest

from coderank.errors import InputError
from coderank.problems import load_benchmark
from coderank.problems.problemfile import docstring_prompt
from coderank.types import Problem

STARTER = "from typing import List\n\n\nclass Solution:\n    def total(self, nums: List[int]) -> int:\n"
QUESTION = "Return the sum of nums.\n\nExample 1: nums = [1, 2] gives 3.\n\nConstraints:\n- 0 <= len(nums) <= 10"
ROW = {"task_id": "lc/1", "question": QUESTION, "starter_code": STARTER, "entry_point": "Solution",
       "test": "def check(candidate):\n    assert Solution().total([1, 2]) == 3\n",
       "canonical_solution": "        return sum(nums)\n"}


def _write(tmp_path, rows):
    path = tmp_path / "lc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_prompt_is_the_starter_code_with_the_statement_as_the_methods_docstring(tmp_path):
    p = load_benchmark(str(_write(tmp_path, [ROW]))).problems["lc/1"]
    assert (p.question, p.starter_code) == (QUESTION, STARTER)
    assert p.prompt == (STARTER + '        """\n        Return the sum of nums.\n\n        Example 1: nums = [1, 2] '
                        'gives 3.\n\n        Constraints:\n        - 0 <= len(nums) <= 10\n        """\n')
    tree = ast.parse(p.program(p.canonical_solution))
    method = tree.body[-1].body[0]
    assert ast.get_docstring(method) == QUESTION


def test_backslashes_and_triple_quotes_in_the_statement_stay_the_statement():
    question = 'Count "\\n" escapes and the text """ in s.\nA path like C:\\temp counts once.'
    prompt = docstring_prompt(question, "def f(s):\n")
    assert ast.get_docstring(ast.parse(prompt + "    pass\n").body[0]) == inspect.cleandoc(question)


def test_a_prompt_given_as_well_is_used_as_it_is(tmp_path):
    prompt = "class Solution:\n    def total(self, nums):\n        \"\"\"Sum.\"\"\"\n"
    p = load_benchmark(str(_write(tmp_path, [ROW | {"prompt": prompt}]))).problems["lc/1"]
    assert p.prompt == prompt and p.question == QUESTION


def test_problems_without_a_statement_keep_their_old_hash():
    p = Problem("HumanEval/x", "def f():\n", "f", "assert f() is None\n", "    pass\n")
    blob = json.dumps([p.task_id, p.prompt, p.entry_point, p.test, p.canonical_solution, p.language],
                      ensure_ascii=False, separators=(",", ":"))
    assert p.sha256 == "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def test_the_statement_and_starter_code_are_hashed(tmp_path):
    a = load_benchmark(str(_write(tmp_path, [ROW]))).problems["lc/1"]
    b = load_benchmark(str(_write(tmp_path, [ROW | {"question": QUESTION + " Be quick."}]))).problems["lc/1"]
    plain = Problem(a.task_id, a.prompt, a.entry_point, a.test, a.canonical_solution)
    assert len({a.sha256, b.sha256, plain.sha256}) == 3


def test_max_tokens_is_kept_in_the_metadata(tmp_path):
    p = load_benchmark(str(_write(tmp_path, [ROW | {"max_tokens": 1024, "metadata": {"source": "me"}}])))
    assert p.problems["lc/1"].metadata == {"source": "me", "max_tokens": 1024}


@pytest.mark.parametrize(
    ("change", "needle", "hint"),
    [
        ({"question": None}, "'question' is missing", "give both question"),
        ({"starter_code": "   "}, "'starter_code' is missing", "give both question"),
        ({"starter_code": "class Solution:\n    pass\n"}, "no def line", "ending with the signature"),
        ({"starter_code": STARTER + "        return 0\n"}, "must end with the signature", "ending with the signature"),
        ({"starter_code": STARTER + "\nx = 1\n"}, "the def line of the function to write must come last",
         "ending with the signature"),
        ({"starter_code": "class Solution:\n    def f(self:\n"}, "does not parse once a body is added", "signature"),
        ({"entry_point": "Answer"}, "defines no class or function named 'Answer'", "one of Solution"),
        ({"max_tokens": 0}, "max_tokens must be a whole number from 1 to 32768, got 0", "e.g. 1024"),
        ({"max_tokens": "1024"}, 'got "1024"', "e.g. 1024"),
        ({"max_tokens": True}, "got true", "e.g. 1024"),
        ({"metadata": {"max_tokens": 10**6}}, "got 1000000", "e.g. 1024"),
        ({"metadata": [1]}, "'metadata' must be a JSON object", ""),
    ],
)
def test_statement_file_errors_name_the_file_the_line_and_the_fix(tmp_path, change, needle, hint):
    row = {k: v for k, v in (ROW | change).items() if v is not None}
    path = _write(tmp_path, [ROW | {"task_id": "lc/0"}, row])
    with pytest.raises(InputError) as info:
        load_benchmark(str(path))
    assert info.value.message.startswith(f"{path}:2: ") and needle in info.value.message, info.value.message
    assert hint in (info.value.hint or ""), info.value.hint


def test_a_prompt_alone_is_still_required_without_a_statement(tmp_path):
    row = {k: v for k, v in ROW.items() if k not in ("question", "starter_code")}
    with pytest.raises(InputError) as info:
        load_benchmark(str(_write(tmp_path, [row])))
    assert "'prompt' is missing" in info.value.message and "question and starter_code" in info.value.hint
