"""``EvolConfig`` and ``DistillConfig`` take the keywords they always took, with the same defaults.

Their shared options live in one place; a config built with keywords (the CLI, the README, users' scripts) must
mean what it meant. ``KEYWORDS`` is each constructor's keywords and defaults as they were before the shared
options were factored out.
"""

import dataclasses
from pathlib import Path

import pytest

from coderank.distill import DistillConfig
from coderank.evol.evolution import EvolConfig
from coderank.execution.sandbox import Limits
from coderank.models.backends import BackendOptions

KEYWORDS = {
    EvolConfig: {
        "model": "default", "seeds": None, "rounds": 1, "include_seeds": False, "limit": None, "seed": 0,
        "methods": (), "temperature": 0.7, "top_p": 0.95, "answer_temperature": 0.0, "max_tokens": 384,
        "answer_max_tokens": 768, "max_chars": 2000, "decontam": ("humaneval", "mbpp"), "embeddings": True,
        "limits": Limits(cpu_seconds=5.0), "workers": None, "backend": BackendOptions(), "store": None,
    },
    DistillConfig: {
        "benchmark": None, "instructions": None, "model": "default", "k": 10, "keep": None, "select": "verified",
        "match": None, "temperature": 0.7, "top_p": 0.95, "max_tokens": 512, "seed": 0, "limit": None, "tasks": (),
        "template": None, "output_form": "program", "decontam": ("humaneval", "mbpp"), "embeddings": True,
        "limits": Limits(), "workers": None, "backend": BackendOptions(), "store": None,
    },
}

# a value of each keyword's type other than its default
OTHER = {
    "model": "openai:m", "seeds": Path("s.jsonl"), "rounds": 3, "include_seeds": True, "limit": 7, "seed": 5,
    "methods": ("harder",), "temperature": 0.3, "top_p": 0.5, "answer_temperature": 0.2, "max_tokens": 99,
    "answer_max_tokens": 98, "max_chars": 97, "decontam": ("humaneval",), "embeddings": False,
    "limits": Limits(cpu_seconds=1.5), "workers": 2, "backend": BackendOptions(base_url="http://x/v1"),
    "store": Path("x.db"), "benchmark": "classic", "instructions": Path("i.jsonl"), "k": 4, "keep": 2,
    "select": "unverified", "match": Path("m.manifest.json"), "tasks": ("a",), "template": "chat",
    "output_form": "answer",
}


@pytest.mark.parametrize("config", list(KEYWORDS), ids=lambda c: c.__name__)
def test_the_keywords_and_defaults_are_those_of_before(config):
    assert {f.name for f in dataclasses.fields(config)} == {"out", *KEYWORDS[config]}
    made = config(out=Path("d.jsonl"))
    assert made.out == Path("d.jsonl")
    assert {key: getattr(made, key) for key in KEYWORDS[config]} == KEYWORDS[config]
    assert config(Path("d.jsonl")) == made  # the output file may still come first, unnamed


@pytest.mark.parametrize("config", list(KEYWORDS), ids=lambda c: c.__name__)
def test_every_keyword_sets_its_own_option(config):
    given = {key: OTHER[key] for key in KEYWORDS[config]}
    assert all(given[key] != default for key, default in KEYWORDS[config].items())
    made = config(out=Path("d.jsonl"), **given)
    assert {key: getattr(made, key) for key in given} == given
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.model = "other"
