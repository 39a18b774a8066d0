"""Prompt templates: how a problem becomes the exact text or messages a model sees.

A wrong prompt format is the classic way to score a chat model near zero (lm-evaluation-harness and
bigcode-evaluation-harness issues), and "can't reproduce the reported score" often comes down to a template
nobody recorded. So a template is a small frozen value with a content hash (:attr:`PromptTemplate.sha256`)
that goes into the run manifest next to its name, and two runs can be diffed on it.

Design choices:

- **Two kinds.** ``completion`` templates render one text the backend continues (base models, and
  instruction formats spelled out as text such as Alpaca/WizardCoder or ``[INST]``). ``chat`` templates render
  messages (optional system, then user); the *model's own* chat template is applied by the backend, which is
  the right default for instruct models.
- **Every template is Jinja**, built-ins included, rendered with ``StrictUndefined`` so a misspelt variable
  fails loudly instead of rendering as an empty string. Autoescaping is off: the output is model input, not
  HTML, and ``<`` in code must stay ``<``. Variables: ``prompt``, ``entry_point``, ``task_id``, ``question``,
  ``starter_code`` (both ``None`` unless the problem gives its statement and starter code apart) and ``problem``
  (the whole :class:`~coderank.types.Problem`).
- **Statement and starter code apart.** A problem given as ``question`` + ``starter_code`` (LiveCodeBench's
  shape, e.g. a ``class Solution`` stub) has a docstring-form ``prompt`` too, the starter code with the
  statement as docstring: completion templates send that, so a base model continues with the body. The built-in
  ``chat`` template has a second user message for such problems (:attr:`PromptTemplate.statement_user`): the
  statement as prose and only the starter code as code, so an instruct model is not shown a long docstring it
  would copy back into its answer (the embedded model did, and ran out of tokens). A template's hash covers
  only the parts the problems of a run can use (:meth:`PromptTemplate.used_for`), so HumanEval and MBPP runs
  keep the template hash they always had.
- **How answers are read** is part of the template (:attr:`PromptTemplate.extract`): a plain continuation is
  cut like a completion, while an instruction format written as completion text (WizardCoder, CodeLlama)
  gets chat-style answers with prose and fences.
- **BOS is never text.** Formats such as CodeLlama's ``<s>[INST] … [/INST]`` begin with the beginning-of-
  sequence *token*. Backends (llama.cpp, vLLM, transformers tokenizers, OpenAI-compatible servers) add it
  themselves; writing ``<s>`` into the text as well would double it (or tokenize it as three characters). So
  the text omits it and :attr:`PromptTemplate.bos` records that the format expects it: a backend that does
  not add BOS by itself must add the token when ``bos`` is true.
- **User templates** are Jinja files (:func:`load_template`). The file suffix gives the kind —
  ``NAME.chat.j2`` is a chat template (the file is the user message), any other file (``NAME.j2``) a
  completion template (the file is the text). An optional first line ``{# coderank: {...} #}`` — a Jinja
  comment holding a JSON object — sets ``kind``, ``system``, ``stop``, ``extract`` and ``bos``; JSON, so no
  YAML parser is needed, and a comment, so the file stays a valid template. As in Jinja generally, one
  trailing newline of the file is dropped, so what an editor saves renders like the text without it.
- The wording of the built-in instructions is our own; only the Alpaca preamble is quoted, because it *is*
  the WizardCoder format.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

from coderank.digest import canonical_json, sha256_text
from coderank.errors import UsageError
from coderank.models.extract import MODES
from coderank.types import Problem

KINDS = ("completion", "chat")
"""Template kinds: one text to continue, or chat messages."""

VARIABLES = ("prompt", "entry_point", "task_id", "question", "starter_code", "problem")
"""The variables a template may use."""

_FORMAT = 1  # version of the hashed layout; bump it if the canonical JSON changes shape
_HEADER = re.compile(r"^\{#\s*coderank:\s*(?P<json>\{.*\})\s*#\}[ \t]*\r?\n?")
_HEADER_KEYS = ("kind", "system", "stop", "extract", "bos")
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


@dataclass(frozen=True)
class Rendered:
    """A template applied to one problem: what goes to the backend.

    Attributes:
        kind: ``completion`` (send :attr:`text`) or ``chat`` (send :attr:`messages`).
        text: The text to continue, for completion templates; otherwise ``None``.
        messages: ``[{"role": "system", ...}?, {"role": "user", ...}]`` for chat templates; otherwise ``None``.
        stop: Stop sequences for the backend.
        bos: The format starts with the BOS token, which the text leaves out (see the module docstring).
    """

    kind: str
    text: str | None
    messages: list[dict[str, str]] | None
    stop: tuple[str, ...]
    bos: bool = False


@dataclass(frozen=True)
class PromptTemplate:
    """A named prompt format.

    Attributes:
        name: Registry name, or the file's name without its suffix.
        kind: ``completion`` or ``chat``.
        system: Jinja text of the system message (chat only; ``None``: the model's default).
        user: Jinja text of the user message (chat only).
        text: Jinja text to continue (completion only).
        stop: Stop sequences sent with each request.
        extract: How answers are turned into programs, a mode of
            :func:`coderank.models.extract.extract_program`; empty means the kind's own mode.
        bos: The format begins with the BOS token, which backends add; the text never contains it.
        statement_user: Jinja text of the user message for problems that give a ``question`` and
            ``starter_code`` (chat only); ``None``: :attr:`user` serves every problem.
        source: ``builtin`` or the file the template came from (for messages; not hashed).

    Raises:
        UsageError: on construction, for an unknown kind or extraction mode, or missing text for the kind.
    """

    name: str
    kind: str
    system: str | None = None
    user: str | None = None
    text: str | None = None
    stop: tuple[str, ...] = ()
    extract: str = ""
    bos: bool = False
    statement_user: str | None = None
    source: str = field(default="builtin", compare=False)

    def __post_init__(self) -> None:
        where = f"prompt template {self.name!r} ({self.source})"
        if self.kind not in KINDS:
            raise UsageError(f"{where}: unknown kind {self.kind!r}", f"use one of: {', '.join(KINDS)}")
        if not self.extract:
            object.__setattr__(self, "extract", self.kind)
        if self.extract not in MODES:
            raise UsageError(f"{where}: unknown extraction mode {self.extract!r}", f"use one of: {', '.join(MODES)}")
        if self.kind == "chat" and (self.user is None or self.text is not None):
            raise UsageError(f"{where}: a chat template has a user message (and no completion text)",
                             "name the file NAME.chat.j2 for a chat template, NAME.j2 for a completion one")
        if self.kind == "completion" and (self.text is None or self.user is not None or self.system is not None
                                          or self.statement_user is not None):
            raise UsageError(f"{where}: a completion template has one text (and no messages)",
                             "name the file NAME.chat.j2 for a chat template, NAME.j2 for a completion one")
        object.__setattr__(self, "stop", tuple(self.stop))

    @property
    def sha256(self) -> str:
        """Algorithm-tagged hash of the canonical JSON of what the model sees and how its answer is read.

        The name and source are left out, so a renamed copy of a template hashes the same. ``statement_user``
        is in the canonical JSON only when set, so templates without it hash as they always did.
        """
        doc: dict[str, Any] = {"format": _FORMAT, "kind": self.kind, "system": self.system, "user": self.user,
                               "text": self.text, "stop": list(self.stop), "extract": self.extract, "bos": self.bos}
        if self.statement_user is not None:
            doc["statement_user"] = self.statement_user
        return sha256_text(canonical_json(doc))

    def used_for(self, problems: Iterable[Problem]) -> PromptTemplate:
        """The template as a run over ``problems`` uses it: without :attr:`statement_user` if none needs it.

        A run records the hash of what it can send, so adding the statement message to a template leaves the
        hash of runs on HumanEval-shaped problems unchanged.
        """
        if self.statement_user is None or any(p.question is not None for p in problems):
            return self
        return dataclasses.replace(self, statement_user=None)

    def render(self, problem: Problem) -> Rendered:
        """Apply the template to one problem.

        Raises:
            UsageError: the template uses a variable or attribute that does not exist.
        """
        variables = {"prompt": problem.prompt, "entry_point": problem.entry_point, "task_id": problem.task_id,
                     "question": problem.question, "starter_code": problem.starter_code, "problem": problem}
        if self.kind == "completion":
            text = self._fill(self.text or "", variables)
            if not text.strip():
                raise UsageError(f"prompt template {self.name!r} ({self.source}) renders an empty prompt for "
                                 f"{problem.task_id}", "the template must contain the text sent to the model, "
                                 "e.g. {{ prompt }}")
            return Rendered(self.kind, text, None, self.stop, self.bos)
        messages = []
        if self.system is not None:
            messages.append({"role": "system", "content": self._fill(self.system, variables)})
        split = self.statement_user is not None and problem.question is not None
        user = self._fill((self.statement_user if split else self.user) or "", variables)
        if not user.strip():
            raise UsageError(f"prompt template {self.name!r} ({self.source}) renders an empty user message for "
                             f"{problem.task_id}", "the user part must contain the task, e.g. {{ prompt }}")
        messages.append({"role": "user", "content": user})
        return Rendered(self.kind, None, messages, self.stop, self.bos)

    def _fill(self, source: str, variables: dict[str, Any]) -> str:
        try:
            return _compile(source).render(variables)
        except jinja2.UndefinedError as exc:
            raise UsageError(f"prompt template {self.name!r} ({self.source}) uses something undefined: {exc.message}",
                             _VARIABLES_HINT) from exc


_VARIABLES_HINT = (f"the variables are {', '.join(VARIABLES)}; problem has the attributes "
                   "task_id, prompt, entry_point, test, canonical_solution, language, metadata, question, "
                   "starter_code")


@functools.lru_cache(maxsize=64)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


# --- built-in templates ----------------------------------------------------------------------------------

# The stops end a base model's continuation at the function's end: the next top-level definition,
# statement or comment, the closing of a docstring or a markdown fence some models emit after code.
_COMPLETION_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert", '\n"""', "\n```")

_TASK = (
    "Finish the Python function `{{ entry_point }}` below so that it does what its docstring says. "
    "Answer with the complete code — the given imports, helpers, signature and docstring included — "
    "in one ```python code block.\n\n```python\n{{ prompt.strip() }}\n```"
)

# For problems given as a statement plus starter code: the statement as prose, only the starter code as code.
# Shown the statement as a docstring inside the stub (the _TASK form), the embedded model copied it back into
# its code block and ran out of tokens on 17 of 20 such problems.
_STATEMENT = (
    "Solve the following problem in Python.\n\n{{ question.strip() }}\n\n"
    "Start from this code:\n\n```python\n{{ starter_code.rstrip() }}\n```\n\n"
    "Answer with the completed code — the starter code with the body written, and any imports it needs — in one "
    "```python code block. Do not copy the problem statement or its examples into the code."
)

_ALPACA = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request."
    "\n\n### Instruction:\nCreate a Python script for this problem:\n{{ prompt }}\n\n### Response:"
)

TEMPLATES: dict[str, PromptTemplate] = {}
"""Templates by name; add to it with :func:`register_template`."""


def register_template(template: PromptTemplate) -> PromptTemplate:
    """Make ``template`` available by its name.

    Raises:
        UsageError: another template already has that name.
    """
    if template.name in TEMPLATES and TEMPLATES[template.name] != template:
        raise UsageError(f"a prompt template named {template.name!r} already exists", "choose another name")
    TEMPLATES[template.name] = template
    return template


register_template(PromptTemplate("completion", "completion", text="{{ prompt }}", stop=_COMPLETION_STOPS))
register_template(PromptTemplate("chat", "chat", user=_TASK, statement_user=_STATEMENT))
# Alpaca-style models sometimes carry on with a made-up next instruction after their answer.
register_template(PromptTemplate("wizardcoder", "completion", text=_ALPACA, stop=("\n### Instruction",),
                                 extract="chat"))
# What `coderank train --prompt-format alpaca` teaches on rows made by `coderank distill -b`: the request of the
# chat template above (its statement form where a problem has one) inside the Alpaca frame of train's data
# module, so a fine-tuned base model is asked exactly as its training rows were.
_ALPACA_OF_CHAT = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request."
    "\n\n### Instruction:\n{% if question is not none %}" + _STATEMENT + "{% else %}" + _TASK + "{% endif %}"
    "\n\n### Response:"
)
register_template(PromptTemplate("alpaca", "completion", text=_ALPACA_OF_CHAT, stop=("\n### Instruction",),
                                 extract="chat", bos=True))
register_template(PromptTemplate("codellama-instruct", "completion", text="[INST] " + _TASK + " [/INST]",
                                 extract="chat", bos=True))


def names() -> list[str]:
    """Names of the registered templates."""
    return sorted(TEMPLATES)


def get_template(name: str) -> PromptTemplate:
    """A template by name, or from a file if ``name`` is a path to a ``.j2`` file.

    Raises:
        UsageError: unknown name (with suggestions), or a bad template file (see :func:`load_template`).
    """
    if name in TEMPLATES:
        return TEMPLATES[name]
    if name.endswith((".j2", ".jinja", ".jinja2")) or "/" in name or Path(name).is_file():
        return load_template(name)
    close = difflib.get_close_matches(name, names(), n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise UsageError(f"unknown prompt template {name!r}",
                     f"{hint}known templates: {', '.join(names())} (or give the path of a .j2 file)")


def load_template(path: str | Path) -> PromptTemplate:
    r"""Load a Jinja template file: ``NAME.chat.j2`` for chat, any other name for completion.

    An optional first line ``{# coderank: {"stop": ["\n```"], "system": "..."} #}`` sets ``kind``,
    ``system``, ``stop``, ``extract`` and ``bos`` (JSON); the rest of the file is the user message (chat) or
    the text (completion).

    Raises:
        UsageError: the file is missing or unreadable, its header or Jinja syntax is invalid, or it uses a
            variable other than those in :data:`VARIABLES`.
    """
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"prompt template file {path} does not exist", "check the path") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"prompt template file {path} is a folder, not a file", "give a .j2 file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read prompt template file {path}: {exc}", "it must be a UTF-8 text file") from exc
    chat = path.name.endswith(".chat.j2")
    name = path.name.removesuffix(".chat.j2") if chat else path.stem
    options: dict[str, Any] = {"kind": "chat" if chat else "completion"}
    header = _HEADER.match(source)
    body_line = 1
    if header:
        options.update(_header(path, header["json"]))
        source = source[header.end():]
        body_line = 2
    system = options.get("system")
    _check(path, source, body_line)
    if system is not None:
        _check(path, system, None)
    body = {"user": source} if options["kind"] == "chat" else {"text": source}
    return PromptTemplate(name=name, kind=options["kind"], system=system, stop=tuple(options.get("stop", ())),
                          extract=options.get("extract", ""), bos=options.get("bos", False), source=str(path),
                          **body)


def _header(path: Path, text: str) -> dict[str, Any]:
    hint = ('the first line may be {# coderank: {"kind": "chat", "system": "...", "stop": ["..."], '
            '"extract": "chat", "bos": false} #}')
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:1: the coderank header is not valid JSON: {exc.msg}", hint) from exc
    if not isinstance(options, dict):
        raise UsageError(f"{path}:1: the coderank header must be a JSON object", hint)
    unknown = sorted(set(options) - set(_HEADER_KEYS))
    if unknown:
        raise UsageError(f"{path}:1: unknown header key(s) {', '.join(unknown)}",
                         f"known keys: {', '.join(_HEADER_KEYS)}")
    checks = {"kind": lambda v: isinstance(v, str), "system": lambda v: v is None or isinstance(v, str),
              "extract": lambda v: isinstance(v, str), "bos": lambda v: isinstance(v, bool),
              "stop": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v)}
    for key, value in options.items():
        if not checks[key](value):
            raise UsageError(f"{path}:1: header key {key!r} has the wrong type ({json.dumps(value)})", hint)
    return options


def _check(path: Path, source: str, first_line: int | None) -> None:
    """Fail early on Jinja syntax errors and on variables a problem does not provide."""
    where = f"{path} (system message)" if first_line is None else str(path)
    try:
        tree = _ENV.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        line = f":{exc.lineno + first_line - 1}" if first_line is not None and exc.lineno else ""
        raise UsageError(f"{where}{line}: template syntax error: {exc.message}", "see the Jinja documentation") from exc
    unknown = sorted(jinja2.meta.find_undeclared_variables(tree) - set(VARIABLES))
    if unknown:
        raise UsageError(f"{where}: undefined variable(s) {', '.join(unknown)}", _VARIABLES_HINT)
