"""Classic: 15 LeetCode-style Python problems (strings, arrays, matrices) written for coderank.

The problems are the kind people use to compare code models by hand (reverse the words of a string, remove
stars, two-sum, merge intervals, spiral order, ...), in our own wording, with HumanEval-style prompts and
``check(candidate)`` tests that cover edge cases and inputs large enough to reject quadratic answers where
the docstring gives a size. The data ships with the package (``data/classic.jsonl``, the documented problem
file format), so nothing is downloaded at run time.
"""

from __future__ import annotations

import dataclasses
import importlib.resources

from coderank.problems._benchmark import Benchmark, register
from coderank.problems.problemfile import load_problem_file

VERSION = "1"
_RESOURCE = ("data", "classic.jsonl")


@register("classic")
def classic() -> Benchmark:
    """The bundled "classic" problems, in task order ``classic/0``, ``classic/1``, ...

    Raises:
        InputError: the bundled data file is invalid (a packaging bug).
    """
    resource = importlib.resources.files("coderank.problems").joinpath(*_RESOURCE)
    with importlib.resources.as_file(resource) as path:
        bench = load_problem_file(path)
    return dataclasses.replace(bench, name="classic", version=VERSION,
                               source=f"coderank package data (problems/{'/'.join(_RESOURCE)})")
