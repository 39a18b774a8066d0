import dataclasses
import random
from collections import Counter

import pytest

from coderank.errors import UsageError
from coderank.evol.methods import (
    ANSWER_TEMPLATE,
    ELIMINATION_PHRASES,
    METHODS,
    EvolMethod,
    choose_method,
    get_method,
    methods_sha256,
    render_answer_prompt,
)

_FIVE = {"constraints", "specific", "reasoning", "misdirection", "complexity"}


def test_registry_has_the_five_methods():
    assert set(METHODS) == _FIVE
    assert METHODS["complexity"].weight < 0.1
    assert all(METHODS[name].weight == 1.0 for name in _FIVE - {"complexity"})


@pytest.mark.parametrize("name", sorted(_FIVE))
def test_each_method_renders_the_instruction(name):
    text = get_method(name).render("Reverse a list in place.")
    assert "Reverse a list in place." in text
    assert "{{" not in text and "}}" not in text
    # Every template's own marker words are listed for elimination.
    assert any(phrase in text.lower() for phrase in ELIMINATION_PHRASES)


@pytest.mark.parametrize("name", sorted(_FIVE))
def test_each_method_fails_on_a_missing_variable(name):
    broken = EvolMethod(name, METHODS[name].template.replace("{{ instruction }}", "{{ instrucion }}"))
    with pytest.raises(UsageError, match="undefined"):
        broken.render("Reverse a list.")


def test_render_does_not_escape_code():
    assert "a < b && c" in METHODS["constraints"].render("Check a < b && c")


def test_answer_template_asks_for_one_python_block():
    text = render_answer_prompt("Sum a list.")
    assert "Sum a list." in text and "```python" in text and "explanation" in text
    assert "{{ instruction }}" in ANSWER_TEMPLATE


def test_unknown_method_and_bad_weight():
    with pytest.raises(UsageError, match="unknown evolution method"):
        get_method("nope")
    with pytest.raises(UsageError, match="weight"):
        EvolMethod("x", "{{ instruction }}", 0)
    with pytest.raises(UsageError, match="no evolution methods"):
        choose_method(random.Random(0), [])


def test_choose_method_is_reproducible():
    rng_a, rng_b = random.Random(7), random.Random(7)
    assert [choose_method(rng_a).name for _ in range(200)] == [choose_method(rng_b).name for _ in range(200)]
    assert choose_method(random.Random(42)) is choose_method(random.Random(42))


def test_complexity_is_chosen_rarely_but_chosen():
    rng = random.Random(1234)
    counts = Counter(choose_method(rng).name for _ in range(2000))
    assert 0 < counts["complexity"] < 200
    assert set(counts) == _FIVE
    assert all(counts[name] > 300 for name in _FIVE - {"complexity"})


def test_methods_sha256_is_stable_and_tracks_changes():
    base = methods_sha256()
    assert base.startswith("sha256:") and len(base) == len("sha256:") + 64
    assert methods_sha256() == base
    assert methods_sha256(METHODS.values()) == base
    edited = [dataclasses.replace(m, template=m.template + " ") if m.name == "reasoning" else m
              for m in METHODS.values()]
    assert methods_sha256(edited) != base
    reweighted = [dataclasses.replace(m, weight=0.5) if m.name == "complexity" else m for m in METHODS.values()]
    assert methods_sha256(reweighted) != base
    assert methods_sha256(answer_template=ANSWER_TEMPLATE + "!") != base


def test_elimination_phrases_are_lower_case():
    assert all(p == p.lower() and p.strip() for p in ELIMINATION_PHRASES)
