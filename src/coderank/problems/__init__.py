"""Benchmarks: HumanEval from its package data, MBPP and classic bundled here, and user problem files."""

from coderank.problems import humaneval as _humaneval  # noqa: F401  (registers "humaneval")
from coderank.problems._benchmark import Benchmark, load_benchmark, names, register

__all__ = ["Benchmark", "load_benchmark", "names", "register"]
from coderank.problems import classic as _classic  # noqa: F401,E402  (registers "classic")
from coderank.problems import evalplus as _evalplus  # noqa: F401,E402  (registers evalplus:, evalplus-base:, files)
from coderank.problems import mbpp as _mbpp  # noqa: F401,E402  (registers "mbpp", "mbpp-valid", "mbpp-train")
from coderank.problems import problemfile as _problemfile  # noqa: F401,E402  (registers problem files)
