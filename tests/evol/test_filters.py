"""The elimination checks, one reason at a time."""

import pytest

from coderank.evol import filters

PARENT = "Write a function that returns the largest even number in a list of integers, or None if there is none."


def check(text, *, parent=PARENT, truncated=False, max_chars=2000, method="constraints"):
    drop = filters.check_instruction(filters.clean_instruction(text), parent, truncated=truncated,
                                     max_chars=max_chars, method=method)
    return drop.reason if drop else None


def test_a_real_evolution_is_kept():
    assert check(PARENT + " The list may hold up to a million numbers, and negative evens count too.") is None


@pytest.mark.parametrize(("text", "kwargs", "reason"), [
    ("   ", {}, "empty"),
    (PARENT + " Also handle strings.", {"truncated": True}, "overlong"),
    (PARENT + " Also handle huge inputs quickly " * 100, {}, "overlong"),
    ("```python\ndef largest_even(xs):\n    return max(x for x in xs if x % 2 == 0)\n```", {}, "not-an-instruction"),
    (PARENT + "\n\n```python\ndef largest_even(xs):\n    return max(xs)\n```", {}, "not-an-instruction"),
    ("What is the task you would like me to complete today, my friend?", {}, "lost-task"),
    ("Make the task harder: " + PARENT + " Negative numbers count too, as do zeros.", {}, "copied-template"),
    (PARENT, {}, "near-duplicate"),
    (PARENT.replace("largest", "biggest"), {}, "near-duplicate"),
])
def test_instruction_drops(text, kwargs, reason):
    assert check(text, **kwargs) == reason


def test_misdirection_may_carry_code():
    text = PARENT + " Here is a reference attempt:\n\n```python\ndef largest_even(xs):\n    return max(xs)\n```"
    assert check(text, method="misdirection") is None
    assert check(text, method="constraints") == "not-an-instruction"


def test_clean_instruction_strips_chatter_labels_and_quotes():
    assert filters.clean_instruction("Sure, here is a harder task:\n\n**Task:**\nSort it.") == "Sort it."
    assert filters.clean_instruction('  "Sort the list in place."  ') == "Sort the list in place."
    assert filters.clean_instruction("### New Task\nSort it.") == "Sort it."
    assert filters.clean_instruction("Task: sort it.") == "sort it."
    assert filters.clean_instruction("Tasks are listed below.") == "Tasks are listed below."


GOOD = "```python\ndef f(x):\n    return x + 1\n\nprint(f(1))\n```\n\nIt adds one."


@pytest.mark.parametrize(("answer", "truncated", "reason"), [
    ("", False, "empty-answer"),
    ("I'm sorry, but I can't help with that request.", False, "refusal"),
    ("As an AI language model, I cannot write code.", False, "refusal"),
    (GOOD, True, "answer-truncated"),
    ("Loop over the list and keep the best value seen so far.", False, "no-code"),
    ("```javascript\nconst f = x => x + 1;\n```", False, "no-code"),
    ("```python\ndef f(x:\n    return x\n```", False, "syntax-error"),
])
def test_answer_drops(answer, truncated, reason):
    _, drop = filters.check_answer(answer, truncated=truncated)
    assert drop is not None and drop.reason == reason


def test_answer_code_is_the_first_python_block():
    code, drop = filters.check_answer("Intro\n```python\nx = 1\n```\nthen\n```python\ny = 2\n```", truncated=False)
    assert drop is None and code == "x = 1"
    code, drop = filters.check_answer(GOOD, truncated=False)
    assert drop is None and "print(f(1))" in code
    # an answer that is bare code (no fence) counts when it parses
    code, drop = filters.check_answer("def f(x):\n    return x * 2\n", truncated=False)
    assert drop is None and code.startswith("def f")


def test_reasons_are_listed_once_each():
    assert len(set(filters.REASONS)) == len(filters.REASONS)
