"""Training data: JSONL rows in, prompt/response pairs, token ids with the loss on the response only.

Rows (one JSON object per line; other keys are ignored):

- ``{"instruction": ..., "output": ...}`` — what ``coderank evol`` writes;
- ``{"instruction": ..., "input": ..., "output": ...}`` — Alpaca (an empty ``input`` is the same as none);
- ``{"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}`` — a chat whose last message
  is the assistant's answer; only that last message is trained on.

Two prompt formats:

- ``alpaca``: the WizardCoder prompt — the Alpaca preamble, ``### Instruction:``, the instruction, ``###
  Response:`` — with the answer and the EOS token after it, exactly as WizardCoder trains; ``coderank eval
  --prompt-template alpaca`` asks in the same format with coderank's own request (what ``coderank distill`` rows
  hold), ``--prompt-template wizardcoder`` with WizardCoder's.
- ``chat``: the base model's own chat template (the one ``coderank eval`` uses by default).

The prompt and the response are tokenized **separately** and concatenated: that is what the model sees at
inference, where the prompt is tokenized alone and the answer is generated token by token after it (tokenizing
the joined text could merge tokens across the boundary). The labels are ``-100`` on every prompt token, so the
loss covers the response only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coderank.digest import sha256_file
from coderank.errors import InputError, UsageError
from coderank.jsonl import json_lines, open_lines
from coderank.paths import require_file

FORMATS = ("chat", "alpaca")
"""Prompt formats: the base model's chat template, or the WizardCoder/Alpaca prompt."""

IGNORE_INDEX = -100
"""Label of tokens left out of the loss (PyTorch's cross-entropy default ``ignore_index``)."""

ALPACA = ("Below is an instruction that describes a task. Write a response that appropriately completes the request."
          "\n\n### Instruction:\n{instruction}\n\n### Response:")
"""The WizardCoder training prompt (Alpaca's ``prompt_no_input``), quoted because it *is* the format."""

ALPACA_INPUT = ("Below is an instruction that describes a task, paired with an input that provides further context. "
                "Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}"
                "\n\n### Input:\n{input}\n\n### Response:")
"""Alpaca's ``prompt_input``, for rows with a non-empty ``input``."""

EVAL_TEMPLATE = {"chat": "chat", "alpaca": "alpaca"}
"""The ``coderank eval --prompt-template`` that asks in the same format a model was trained on: for ``alpaca``,
coderank's own request (the ``chat`` template's user message, what ``coderank distill`` rows hold) in the Alpaca
frame; ``wizardcoder`` asks WizardCoder's way ("Create a Python script for this problem") in the same frame."""


def default_prompt_format(base: str) -> str:
    """``chat``, or ``alpaca`` for an embedded base model, whose GGUF has no chat template (``gemma-270m``)."""
    from coderank.models.embedded import get

    model = get(base)
    return "alpaca" if model is not None and model.template == "completion" else "chat"

_ROLES = ("system", "user", "assistant")
_ROW_HINT = ('each line must be {"instruction": "...", "output": "..."} (optionally with "input"), '
             'or {"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}')


@dataclass(frozen=True)
class Example:
    """One training example.

    Attributes:
        where: ``FILE:LINE`` it came from.
        messages: ``(role, content)`` pairs ending with the assistant's answer.
        instruction: The instruction, for Alpaca rows (``None`` for chat rows).
        input: Alpaca's optional context ("" when absent).
    """

    where: str
    messages: tuple[tuple[str, str], ...]
    instruction: str | None = None
    input: str = ""

    @property
    def output(self) -> str:
        """The answer trained on: the last (assistant) message."""
        return self.messages[-1][1]


def data_sha256(path: Path) -> str:
    """Tagged sha256 of the data file's bytes."""
    return sha256_file(path)


def read_examples(path: Path) -> list[Example]:
    """Read and check every row of a JSONL training file.

    Raises:
        UsageError: the file does not exist.
        InputError: a line that is not JSON, not a valid row, or a file without rows; the message names
            ``FILE:LINE``.
    """
    require_file(path, "training data", "give a JSONL file, e.g. what coderank evol wrote")
    examples = []
    with open_lines(path) as fh:
        for where, row in json_lines(fh, str(path)):
            examples.append(_parse_row(where, row))
    if not examples:
        raise InputError(f"{path}: no rows", _ROW_HINT)
    return examples


def _text(where: str, row: dict[str, Any], key: str, required: bool) -> str:
    value = row.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        kind = "missing" if value is None else f"a {type(value).__name__}, not a string"
        raise InputError(f"{where}: {key!r} is {kind}", _ROW_HINT)
    if required and not value.strip():
        raise InputError(f"{where}: {key!r} is empty", "drop the row or fill it in")
    return value


def _parse_row(where: str, row: Any) -> Example:
    if not isinstance(row, dict):
        raise InputError(f"{where}: a JSON {type(row).__name__}, not an object", _ROW_HINT)
    if "messages" in row:
        return Example(where, _messages(where, row["messages"]))
    if "instruction" not in row or "output" not in row:
        missing = " and ".join(repr(k) for k in ("instruction", "output") if k not in row)
        raise InputError(f"{where}: no {missing} (and no 'messages')", _ROW_HINT)
    instruction = _text(where, row, "instruction", True)
    extra = _text(where, row, "input", False)
    output = _text(where, row, "output", True)
    user = instruction + (f"\n\n{extra}" if extra.strip() else "")
    return Example(where, (("user", user), ("assistant", output)), instruction, extra)


def _messages(where: str, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or len(value) < 2:
        raise InputError(f"{where}: 'messages' must be a list of at least two messages (a question, an answer)",
                         _ROW_HINT)
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise InputError(f"{where}: messages[{i}] must be an object with string 'role' and 'content'", _ROW_HINT)
        if m["role"] not in _ROLES:
            raise InputError(f"{where}: messages[{i}] has role {m['role']!r}", f"roles are {', '.join(_ROLES)}")
        out.append((m["role"], m["content"]))
    if out[-1][0] != "assistant" or not out[-1][1].strip():
        raise InputError(f"{where}: the last message must be the assistant's (non-empty) answer",
                         "the answer trained on is the last message")
    if all(role != "user" for role, _ in out[:-1]):
        raise InputError(f"{where}: no user message before the answer", _ROW_HINT)
    return tuple(out)


def format_example(example: Example, prompt_format: str, tokenizer: Any) -> tuple[str, str]:
    """The prompt text and the response text (the response without EOS for ``alpaca``; see :func:`encode`).

    Raises:
        UsageError: unknown format, or ``chat`` with a tokenizer that has no chat template.
        InputError: a multi-turn or system-prompted chat row in ``alpaca`` format (it has no place for them), or
            a chat template that does not render the prompt as the start of the whole conversation.
    """
    if prompt_format == "alpaca":
        if example.instruction is None:
            roles = [r for r, _ in example.messages]
            if roles != ["user", "assistant"]:
                raise InputError(f"{example.where}: the alpaca format holds one instruction and one answer, "
                                 f"this row has {'/'.join(roles)}", "use --prompt-format chat for chat rows")
            return ALPACA.format(instruction=example.messages[0][1]), example.output
        if example.input.strip():
            return ALPACA_INPUT.format(instruction=example.instruction, input=example.input), example.output
        return ALPACA.format(instruction=example.instruction), example.output
    if prompt_format != "chat":
        raise UsageError(f"unknown prompt format {prompt_format!r}", f"use one of: {', '.join(FORMATS)}")
    if not getattr(tokenizer, "chat_template", None):
        raise UsageError("the base model's tokenizer has no chat template", "use --prompt-format alpaca")
    msgs = [{"role": r, "content": c} for r, c in example.messages]
    prompt = str(tokenizer.apply_chat_template(msgs[:-1], tokenize=False, add_generation_prompt=True))
    full = str(tokenizer.apply_chat_template(msgs, tokenize=False))
    if not full.startswith(prompt):
        raise InputError(f"{example.where}: the chat template renders the prompt differently inside the whole "
                         "conversation, so the answer cannot be cut out of it", "use --prompt-format alpaca")
    return prompt, full[len(prompt):]


@dataclass(frozen=True)
class Encoded:
    """Token ids of one example and its labels (``-100`` on the prompt).

    Attributes:
        input_ids: Prompt ids then response ids, cut at ``max_len``.
        labels: ``-100`` for prompt tokens, the token id for response tokens.
        truncated: The example was longer than ``max_len``.
    """

    input_ids: list[int]
    labels: list[int]
    truncated: bool


def encode(prompt: str, response: str, prompt_format: str, tokenizer: Any, max_len: int) -> Encoded | None:
    """Tokenize prompt and response separately; ``None`` when ``max_len`` leaves no response token.

    ``alpaca`` prompts get the tokenizer's own special tokens (a BOS where the model has one) and the response
    ends with the EOS token id; chat templates already spell out their special tokens, and their response
    text ends with the template's end-of-turn marker.
    """
    prompt_ids = list(tokenizer(prompt, add_special_tokens=prompt_format == "alpaca")["input_ids"])
    response_ids = list(tokenizer(response, add_special_tokens=False)["input_ids"])
    if prompt_format == "alpaca" and tokenizer.eos_token_id is not None:
        response_ids.append(int(tokenizer.eos_token_id))
    ids = prompt_ids + response_ids
    labels = [IGNORE_INDEX] * len(prompt_ids) + response_ids
    if len(prompt_ids) >= max_len:
        return None
    return Encoded(ids[:max_len], labels[:max_len], len(ids) > max_len)


@dataclass(frozen=True)
class EncodedSet:
    """A training set ready for the trainer.

    Attributes:
        rows: ``{"input_ids": [...], "labels": [...]}`` per kept example.
        dropped: ``FILE:LINE`` of examples whose prompt alone fills ``max_len`` (nothing left to learn).
        truncated: How many kept examples lost the end of their response to ``max_len``.
        tokens: Tokens in the kept rows.
        response_tokens: Tokens the loss covers.
    """

    rows: list[dict[str, list[int]]]
    dropped: list[str]
    truncated: int
    tokens: int
    response_tokens: int


def encode_all(examples: Sequence[Example], prompt_format: str, tokenizer: Any, max_len: int) -> EncodedSet:
    """Format and tokenize every example (see :func:`format_example` and :func:`encode`).

    Raises:
        InputError: as :func:`format_example`, or when no example leaves room for its response.
    """
    rows, dropped, truncated, tokens, response = [], [], 0, 0, 0
    for ex in examples:
        prompt, answer = format_example(ex, prompt_format, tokenizer)
        enc = encode(prompt, answer, prompt_format, tokenizer, max_len)
        if enc is None:
            dropped.append(ex.where)
            continue
        rows.append({"input_ids": enc.input_ids, "labels": enc.labels})
        truncated += enc.truncated
        tokens += len(enc.input_ids)
        response += sum(1 for t in enc.labels if t != IGNORE_INDEX)
    if not rows:
        raise InputError(f"every example's prompt is longer than --max-len {max_len} tokens",
                         "raise --max-len or shorten the instructions")
    return EncodedSet(rows, dropped, truncated, tokens, response)
