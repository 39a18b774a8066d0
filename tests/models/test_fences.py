"""One reader of fenced code blocks serves extraction, evol's filters, distill's self-tests and contam's code run.

Before, each had its own regular expression, and they disagreed: a block fenced with tildes, with four
backticks around a nested fence, indented under a list item or cut off by the token limit was code to one of
them and prose to another.
"""

from __future__ import annotations

from coderank.distill._selftest import split_answer
from coderank.evol.filters import answer_code
from coderank.models.extract import fenced_blocks, outside_blocks
from coderank.rigor.behaviour import row_code

FUNC = "def add(a, b):\n    return a + b\n"
TESTS = "assert add(1, 2) == 3\nassert add(-1, 1) == 0\n"


def test_fences_of_every_kind():
    text = ("Intro.\n~~~python\n" + FUNC + "~~~\n"
            "- a list item:\n  ```py\n  x = 1\n  ```\n"
            "````markdown\n```python\nnot python\n```\n````\n"
            "```\n" + TESTS + "```\n"
            "Cut off:\n```python\ndef half(")
    blocks = fenced_blocks(text)
    assert [(b.tag, b.python, b.closed) for b in blocks] == [
        ("python", True, True), ("py", True, True), ("markdown", False, True), ("", True, True),
        ("python", True, False)]
    assert blocks[0].code == FUNC and blocks[1].code == "x = 1\n"  # dedented under the list item
    assert blocks[2].code == "```python\nnot python\n```\n"  # a shorter fence inside a longer one is content
    assert [b.index for b in blocks] == [1, 2, 3, 4, 5]
    outside = outside_blocks(text)
    assert "Intro." in outside and "Cut off:" in outside and "return" not in outside and "not python" not in outside
    assert len(outside.splitlines()) == len(text.splitlines())  # line numbers kept


def test_every_reader_sees_a_tilde_fenced_answer_the_same_way():
    answer = "Here it is.\n~~~python\n" + FUNC + "~~~\nAnd its tests:\n~~~python\n" + TESTS + "~~~\n"
    assert answer_code(answer) == FUNC.strip("\n")  # evol: the answer's code
    split = split_answer(answer)  # distill: the solution and the teacher's own tests
    assert split.status == "" and split.solution is not None and "def add" in split.solution
    assert split.tests is not None and "assert add(1, 2) == 3" in split.tests
    code = row_code(answer)  # contam: the code a row holds, to run against an item
    assert code is not None and code.split() == (FUNC + TESTS).split()


def test_an_answer_cut_off_inside_its_block_still_has_code():
    answer = "```python\n" + FUNC + "\ndef more(x):\n    return ("
    assert answer_code(answer) == (FUNC + "\ndef more(x):\n    return (").strip("\n")
    assert (row_code(answer) or "").strip() == FUNC.strip()  # the longest prefix that parses
