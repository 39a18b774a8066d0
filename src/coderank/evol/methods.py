"""The five code-evolution methods of Evol-Instruct (WizardCoder recipe), as our own prompt wording.

Each method is a Jinja template with one variable, ``instruction``, rendered with ``StrictUndefined`` so a
misspelt variable fails loudly. A seed's optional ``input`` is folded into the instruction text first
(:attr:`coderank.evol.seeds.Seed.text`). The five, after WizardCoder:

- ``constraints``: add new constraints or requirements (about ten more words);
- ``specific``: replace a commonly used requirement with a less common, more specific one;
- ``reasoning``: ask for more logical steps than the task needs now;
- ``misdirection``: add a piece of erroneous code as a reference, to mislead;
- ``complexity``: demand a tighter time or space complexity bound.

**Weights.** A method is drawn with probability weight / sum of weights (:func:`choose_method`). The first
four have weight 1.0; ``complexity`` has 0.05, so it is chosen about 1.2% of the time (0.05 / 4.05):
WizardCoder advises using complexity requirements rarely, since asking for them often yields tasks with
unrealistic or unverifiable bounds.

**Versioning.** :data:`METHODS_VERSION` and :func:`methods_sha256` go into the run manifest. The hash covers
every method's name, template and weight plus :data:`ANSWER_TEMPLATE`, so any change to wording or weights
shows up as a different hash. Bump :data:`METHODS_VERSION` whenever the wording changes on purpose.

Version 2 is short and direct: with version 1's longer, ``#Original Exercise#``-framed wording the embedded
0.5B model mostly solved the task or echoed the template instead of rewriting the task (measured on a dozen
seeds: 2 of 12 usable rewrites, against about half with version 2).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable
from dataclasses import dataclass

import jinja2

from coderank.digest import canonical_json, sha256_text
from coderank.errors import UsageError

METHODS_VERSION = 2
"""Version of the built-in wording; bump it on any deliberate change to the templates or weights."""

_FORMAT = 1  # version of the hashed layout; bump it if the canonical JSON changes shape
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)

VARIABLES = ("instruction",)
"""The variables a method or answer template may use."""


@dataclass(frozen=True)
class EvolMethod:
    """One way to make an instruction harder.

    Attributes:
        name: Registry name.
        template: Jinja text sent to the model; uses ``{{ instruction }}``.
        weight: Relative chance of being drawn by :func:`choose_method` (positive).

    Raises:
        UsageError: on construction, for a weight that is not positive.
    """

    name: str
    template: str
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise UsageError(f"evolution method {self.name!r}: weight must be positive, got {self.weight!r}",
                             "use a weight above 0 (1.0 is the usual, 0.05 for a rarely used method)")

    def render(self, instruction: str) -> str:
        """The prompt that asks a model to evolve ``instruction`` this way.

        Raises:
            UsageError: the template uses a variable that does not exist.
        """
        return _render(self.template, f"evolution method {self.name!r}", instruction=instruction)


def _render(source: str, what: str, **variables: str) -> str:
    try:
        return _compile(source).render(variables)
    except jinja2.UndefinedError as exc:
        raise UsageError(f"{what} uses something undefined: {exc.message}",
                         f"the variables are {', '.join(VARIABLES)}") from exc


@functools.lru_cache(maxsize=64)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


# --- built-in wording --------------------------------------------------------------------------------------

_HEAD = "Here is a programming task:\n\n{{ instruction }}\n\nMake the task harder. "
_TAIL = ("\nWrite out the complete new task, as a user would ask it, and nothing else: do not solve it and do "
         "not explain what you changed.")


def _method(name: str, how: str, weight: float = 1.0) -> EvolMethod:
    return EvolMethod(name, _HEAD + how + _TAIL, weight)


METHODS: dict[str, EvolMethod] = {m.name: m for m in (
    _method("constraints", "Add one new constraint or requirement to it, using about ten more words."),
    _method("specific", "Replace one common requirement in it with a less common and more specific one."),
    _method("reasoning", "Change it so that solving it needs a few more steps of logical reasoning."),
    _method("misdirection",
            "Add a short piece of Python code with a bug in it, given as a reference attempt that could mislead. "
            "Do not say where the bug is."),
    _method("complexity",
            "Require a stricter time or space complexity of the solution; keep the bound achievable and state it "
            "clearly.",
            weight=0.05),
)}
"""The built-in methods by name (see the module docstring for the weights)."""

ANSWER_TEMPLATE = (
    "Solve the following programming exercise in Python.\n\n"
    "{{ instruction }}\n\n"
    "Give your complete solution as a single fenced code block (```python ... ```), followed by a brief "
    "explanation of how it works in a few sentences. Do not write more than one code block."
)
"""How each evolved instruction is answered, in a call of its own."""

ELIMINATION_PHRASES = (
    "here is a programming task",
    "make the task harder",
    "the complete new task",
    "new task:",
    "harder task",
    "as a user would ask it",
    "do not solve it",
    "what you changed",
    "about ten more words",
    "#original exercise#",
    "#new exercise#",
)
"""Lower-case phrases that show an evolved instruction copied the method templates' own words.

Match them case-insensitively: an evolved instruction containing one is dropped as a failed evolution.
"""


def render_answer_prompt(instruction: str) -> str:
    """The prompt that asks a model to answer an (evolved) instruction."""
    return _render(ANSWER_TEMPLATE, "answer template", instruction=instruction)


def names() -> list[str]:
    """Names of the built-in methods."""
    return list(METHODS)


def get_method(name: str) -> EvolMethod:
    """A built-in method by name.

    Raises:
        UsageError: unknown name.
    """
    try:
        return METHODS[name]
    except KeyError:
        raise UsageError(f"unknown evolution method {name!r}", f"use one of: {', '.join(METHODS)}") from None


def choose_method(rng: random.Random, methods: Iterable[EvolMethod] | None = None) -> EvolMethod:
    """Draw a method with probability proportional to its weight, using only ``rng`` (so a seed reproduces it).

    Raises:
        UsageError: no methods to draw from.
    """
    pool = list(METHODS.values() if methods is None else methods)
    if not pool:
        raise UsageError("no evolution methods to choose from", "pass at least one method")
    return rng.choices(pool, weights=[m.weight for m in pool], k=1)[0]


def methods_sha256(methods: Iterable[EvolMethod] | None = None, answer_template: str = ANSWER_TEMPLATE) -> str:
    """Algorithm-tagged hash of the canonical JSON of every method (name, template, weight) and the answer template.

    Defaults to the built-ins; it goes into the manifest so two evolution runs can be diffed on it.
    """
    pool = list(METHODS.values() if methods is None else methods)
    return sha256_text(canonical_json(
        {"format": _FORMAT, "version": METHODS_VERSION, "answer": answer_template,
         "methods": [{"name": m.name, "template": m.template, "weight": m.weight} for m in pool]}))
