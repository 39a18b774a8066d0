"""Greedy decoding of several requests at once on llama.cpp (``coderank eval --batch-size B``).

Decoding one token of a small quantized model on a few CPU cores spends most of its time in the weights'
matrix products; one ``llama_decode`` over a batch that holds the next token of B sequences computes them as
matrix-matrix products, which llama.cpp's CPU kernels do for far less than B times the cost of one from B = 4
on (rows go through the repacked weights' kernel in groups of 4; fewer rows cost one product each: B = 2 or 3
gave no speed-up here; measured in ``benchmarks/batched_decode.py``). :class:`BatchedGreedy` keeps up to B
requests in flight in one llama.cpp context, one sequence id (and one KV-cache stream) each, and starts the next
request as soon as one finishes.

It reproduces what ``Llama.create_completion`` / ``create_chat_completion`` do for a greedy request, so that
with one sequence in flight it gives exactly today's answers (tested):

- prompts: completion text tokenized with the model's BOS/EOS rules; chat messages rendered by
  llama-cpp-python's own ``Jinja2ChatFormatter`` from the GGUF's chat template (what ``create_chat_completion``
  runs for such a model), whose EOS text joins the stop sequences;
- the prompt's prefix already in the cache is reused the way ``Llama.generate`` reuses it: request i keeps the
  longest common prefix with request i-1's evaluated tokens (copied from request i-1's stream when that one is
  still running elsewhere) and evaluates the rest in chunks of ``n_batch`` tokens;
- the token: the first largest logit (llama.cpp's greedy sampler);
- the end: an end-of-generation token (``stop``, not counted), a stop sequence in the answer's bytes (``stop``,
  the first listed that occurs, cut where it begins), ``max_tokens`` (``length``; the limit is checked only once
  the answer's last character is complete, as llama-cpp-python does) and, with ``stop_loops``, a loop
  (``loop``, counted by tokenizing the answer, as the streamed path counts).

What differs: with several sequences in one batch the matrix products are computed in other groupings, so the
logits differ in their last bits and a greedy answer can change where two tokens are nearly tied. That is why
``--batch-size`` above 1 is part of the model's identity. Sampled requests (temperature above 0), chat with a
chat format llama-cpp-python does not take from the GGUF's template, and empty prompts are not batched: the
backend runs them one at a time, as before.
"""

from __future__ import annotations

import ctypes
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from coderank.errors import UsageError
from coderank.models import loops
from coderank.models.backends import Completion, Request

MAX_BATCH = 64
"""The most sequences in flight (llama.cpp allows more; a CPU gains nothing from them)."""


def check_batch_size_range(size: object) -> None:
    """Refuse a ``--batch-size`` that is not a whole number from 1 to :data:`MAX_BATCH` (CLI and backend alike).

    Raises:
        UsageError: with the range and a hint.
    """
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_BATCH:
        raise UsageError(f"--batch-size must be a whole number from 1 to {MAX_BATCH}, got {size!r}",
                         "4 to 16 suit a few CPU cores; 1 decodes one request at a time")


_PAD = 256  # llama.cpp pads the KV cache to this many cells


@dataclass
class Prompt:
    """A request made ready for decoding: prompt tokens, the token limit after clamping, stop sequences."""

    tokens: list[int]
    max_tokens: int
    stop: list[bytes]
    stop_loops: bool


@dataclass
class _Answer:
    """One request being generated."""

    index: int
    prompt: Prompt
    tokens: list[int] = field(default_factory=list)
    text: bytes = b""
    pending_bytes: int = 0  # llama-cpp-python's count of tokens to wait for an incomplete UTF-8 character


@dataclass
class _Slot:
    """One sequence id of the context and what its KV-cache stream holds."""

    seq_id: int
    tokens: list[int] = field(default_factory=list)  # evaluated into the stream, in position order
    sampled: int | None = None  # the token taken from the stream's last logits and not evaluated (greedy: fixed)
    answer: _Answer | None = None


def lead_bytes_pending(text: bytes, pending: int) -> int:
    """llama-cpp-python's rule for an answer ending in part of a UTF-8 character (its "multibyte fix").

    Of the answer's last three bytes, the one at slice position j (0, 1, 2) counts as ``k = 3 - j`` bytes from
    the end; a lead byte of an n-byte character with ``n > k`` sets the count to ``n - k``. While the count is
    above 0 a token is taken without checking stop sequences or the token limit (and the count drops by one).
    """
    for j, byte in enumerate(text[-3:]):
        k = 3 - j
        for n, lead in ((2, 0xC0), (3, 0xE0), (4, 0xF0)):
            if n > k and byte & lead == lead:
                pending = n - k
    return pending


class BatchedGreedy:
    """Greedy answers of up to ``batch_size`` requests at once, on the model a ``llama_cpp.Llama`` loaded.

    The ``Llama`` object is used for its weights, tokenizer and chat template; decoding runs in a context of
    its own (created for each :meth:`generate` call and freed after it), with the same settings as the
    ``Llama``'s context except for the number of sequences and the size of each one's cache.
    """

    def __init__(self, llm: Any, batch_size: int) -> None:
        import llama_cpp

        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH}, got {batch_size}")
        self.llm = llm
        self.lib = llama_cpp
        self.batch_size = batch_size
        self.vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self.n_vocab = llm.n_vocab()
        self.n_ctx = llm.n_ctx()
        self.n_batch = llm.n_batch
        self._pieces: dict[int, bytes] = {}
        self._eog: dict[int, bool] = {}
        self.bos = llm.token_bos()
        self._piece_buffer = (ctypes.c_char * 32)()
        self.formatter = self._chat_formatter()

    def _chat_formatter(self) -> Any:
        """The formatter ``create_chat_completion`` uses for this model, where it is the GGUF's own template."""
        llm = self.llm
        template = llm.metadata.get("tokenizer.chat_template")
        if not template or llm.chat_handler is not None or llm.chat_format != "chat_template.default":
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        eos, bos = llm.token_eos(), llm.token_bos()
        text = self.lib.llama_vocab_get_text
        return Jinja2ChatFormatter(template=template,
                                   eos_token=text(self.vocab, eos).decode("utf-8") if eos != -1 else "",
                                   bos_token=text(self.vocab, bos).decode("utf-8") if bos != -1 else "",
                                   stop_token_ids=[eos])

    # --- prompts ---------------------------------------------------------------------------------------------

    def prompt(self, req: Request) -> Prompt | None:
        """The request as :class:`Prompt`, or ``None`` where it is not batched.

        Not batched: sampled requests, chat without a template this can format, empty prompts.

        Raises:
            ValueError: the prompt does not fit the context window (as ``create_completion`` raises).
        """
        if req.temperature != 0:
            return None
        stop = list(req.stop)
        if req.kind == "chat":
            if self.formatter is None or req.messages is None:
                return None
            formatted = self.formatter(messages=[{"role": r, "content": c} for r, c in req.messages])
            tokens = self.llm.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special,
                                       special=True)
            extra = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]
            stop += [s for s in extra if s is not None]
        else:
            if not req.text:
                return None
            tokens = self._completion_tokens(req.text)
        if len(tokens) >= self.n_ctx:
            raise ValueError(f"Requested tokens ({len(tokens)}) exceed context window of {self.n_ctx}")
        limit = req.max_tokens if req.max_tokens > 0 else self.n_ctx - len(tokens)
        if limit + len(tokens) >= self.n_ctx:
            limit = self.n_ctx - len(tokens)
        return Prompt(tokens, limit, [s.encode("utf-8") for s in stop], req.stop_loops)

    def _completion_tokens(self, text: str) -> list[int]:
        """A text prompt's tokens as ``create_completion`` builds them.

        BOS and EOS where the vocabulary adds them (llama-cpp-python takes BOS for its CLS token and the separator,
        if any, for EOS).
        """
        lib, vocab = self.lib, self.vocab
        bos, sep = lib.llama_vocab_bos(vocab), lib.llama_vocab_sep(vocab)
        head = [bos] if lib.llama_vocab_get_add_bos(vocab) and bos != -1 else []
        tail = [sep if sep != -1 else lib.llama_vocab_eos(vocab)]
        if not lib.llama_vocab_get_add_eos(vocab) and sep == -1:
            tail = []
        return head + self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True) + tail

    def _piece(self, token: int) -> bytes:
        """The token's bytes, as llama-cpp-python's detokenizer takes them (a 32-byte buffer, specials empty)."""
        piece = self._pieces.get(token)
        if piece is None:
            n = self.lib.llama_token_to_piece(self.vocab, token, self._piece_buffer, 32, 0, False)
            piece = self._pieces[token] = self._piece_buffer.raw[:n]
        return piece

    def _is_eog(self, token: int) -> bool:
        eog = self._eog.get(token)
        if eog is None:
            eog = self._eog[token] = bool(self.lib.llama_vocab_is_eog(self.vocab, token))
        return eog

    # --- generation ------------------------------------------------------------------------------------------

    def generate(self, requests: Sequence[Request],
                 fallback: Callable[[Request], Completion]) -> Iterator[tuple[int, Completion]]:
        """Answer ``requests``, yielding ``(position, completion)`` as each finishes.

        Requests :meth:`prompt` does not take go to ``fallback`` (one at a time, first). A completion's
        ``seconds`` is the wall time since the previous one was yielded, so that their sum is the time spent.
        """
        prompts: list[tuple[int, Prompt]] = []
        clock = time.monotonic()
        for i, req in enumerate(requests):
            ready = self.prompt(req)
            if ready is None:
                comp = fallback(req)
                yield i, comp
                clock = time.monotonic()
            else:
                prompts.append((i, ready))
        if prompts:
            yield from self._run(prompts, clock)

    def _run(self, prompts: list[tuple[int, Prompt]], clock: float) -> Iterator[tuple[int, Completion]]:
        lib = self.lib
        n_seq = min(self.batch_size, len(prompts))
        need = max(len(p.tokens) + p.max_tokens for _, p in prompts) + 8  # + the tokens a split character adds
        per_seq = -(-min(need, self.n_ctx) // _PAD) * _PAD
        params = type(self.llm.context_params).from_buffer_copy(self.llm.context_params)
        params.n_ctx = per_seq * n_seq
        params.n_seq_max = n_seq
        params.kv_unified = False  # a stream per sequence: each attends over its own cells only
        ctx = lib.llama_init_from_model(self.llm.model, params)
        if not ctx:
            raise RuntimeError(f"llama.cpp could not create a context for {n_seq} sequences of {per_seq} tokens")
        batch = lib.llama_batch_init(max(self.n_batch, n_seq), 0, 1)
        try:
            yield from _Decoder(self, ctx, batch, n_seq).run(prompts, clock)
        finally:
            lib.llama_batch_free(batch)
            lib.llama_free(ctx)


class _Decoder:
    """The state of one :meth:`BatchedGreedy.generate` call: slots, the queue, the batch."""

    def __init__(self, owner: BatchedGreedy, ctx: Any, batch: Any, n_seq: int) -> None:
        self.o = owner
        self.lib = owner.lib
        self.ctx = ctx
        self.mem = owner.lib.llama_get_memory(ctx)
        self.batch = batch
        self.slots = [_Slot(s) for s in range(n_seq)]
        self.previous: _Slot | None = None  # the slot the last request started in

    # llama.cpp calls

    def _decode(self, rows: Sequence[tuple[int, int, int, bool]]) -> None:
        """One ``llama_decode`` of ``(token, position, seq_id, wants logits)`` rows."""
        b = self.batch
        b.n_tokens = len(rows)
        for r, (token, pos, seq, logits) in enumerate(rows):
            b.token[r] = token
            b.pos[r] = pos
            b.n_seq_id[r] = 1
            b.seq_id[r][0] = seq
            b.logits[r] = logits
        code = self.lib.llama_decode(self.ctx, b)
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code}")

    def _argmax(self, row: int) -> int:
        import numpy as np

        logits = np.ctypeslib.as_array(self.lib.llama_get_logits_ith(self.ctx, row), shape=(self.o.n_vocab,))
        return int(logits.argmax())  # the first largest, as llama.cpp's greedy sampler

    # the requests

    def run(self, prompts: list[tuple[int, Prompt]], clock: float) -> Iterator[tuple[int, Completion]]:
        queue = deque(prompts)
        while queue or any(s.answer for s in self.slots):
            done: list[tuple[int, Completion]] = []
            for slot in self.slots:  # fill the free slots (a request may end on its first token)
                while slot.answer is None and queue:
                    index, prompt = queue.popleft()
                    finished = self._start(self._pick(slot), _Answer(index, prompt))
                    if finished is not None:
                        done.append(finished)
            active = [s for s in self.slots if s.answer is not None]
            if active:
                rows = [(s.sampled, len(s.tokens), s.seq_id, True) for s in active]
                self._decode(rows)  # type: ignore[arg-type]  # an active slot always holds its next token
                for row, slot in enumerate(active):
                    slot.tokens.append(rows[row][0])  # type: ignore[arg-type]
                    slot.sampled = self._argmax(row)
                    finished = self._take(slot)
                    if finished is not None:
                        done.append(finished)
            for item in done:
                now = time.monotonic()
                yield item[0], Completion(item[1].text, item[1].finish_reason, item[1].prompt_tokens,
                                          item[1].completion_tokens, now - clock)
                clock = now

    def _pick(self, free: _Slot) -> _Slot:
        """Where the next request starts: the slot of the request before it when that one is free, else ``free``."""
        prev = self.previous
        return prev if prev is not None and prev.answer is None else free

    def _start(self, slot: _Slot, answer: _Answer) -> tuple[int, Completion] | None:
        """Put ``answer``'s prompt in ``slot`` and take its first token.

        The previous request's prefix is reused as ``Llama.generate`` reuses it. Returns the finished completion
        when the first token ends the answer.
        """
        lib, prompt = self.lib, answer.prompt.tokens
        prev = self.previous
        if prev is not None and prev is not slot:  # take over the previous request's stream
            lib.llama_memory_seq_cp(self.mem, prev.seq_id, slot.seq_id, -1, -1)  # the whole stream (cross-stream)
            slot.tokens, slot.sampled = list(prev.tokens), prev.sampled
        self.previous = slot
        slot.answer = answer
        held = slot.tokens
        common = 0
        for a, b in zip(held, prompt, strict=False):
            if a != b:
                break
            common += 1
        todo = prompt
        if held:
            consumed = common == len(prompt)
            if consumed and len(held) == len(prompt) and slot.sampled is not None:
                return self._take(slot)  # the whole prompt is there and its next token known
            keep = common - 1 if consumed else common
            if keep > 0:
                lib.llama_memory_seq_rm(self.mem, slot.seq_id, keep, -1)
                slot.tokens = held[:keep]
                todo = prompt[keep:]
            else:
                lib.llama_memory_seq_rm(self.mem, slot.seq_id, -1, -1)
                slot.tokens = []
        slot.sampled = None
        step = self.o.n_batch
        for at in range(0, len(todo), step):
            chunk = todo[at:at + step]
            base = len(slot.tokens)
            self._decode([(t, base + j, slot.seq_id, j == len(chunk) - 1) for j, t in enumerate(chunk)])
            slot.tokens.extend(chunk)
        slot.sampled = self._argmax(len(todo[(len(todo) - 1) // step * step:]) - 1)
        return self._take(slot)

    def _take(self, slot: _Slot) -> tuple[int, Completion] | None:
        """Add the slot's sampled token to its answer; the completion when the answer ends there."""
        answer = slot.answer
        assert answer is not None and slot.sampled is not None
        token, prompt = slot.sampled, answer.prompt
        if self.o._is_eog(token):
            return self._finish(slot, "stop", answer.text)
        answer.tokens.append(token)
        piece = self.o._piece(token)
        if len(answer.tokens) == 1 and token == self.o.bos and piece[:1] == b" ":
            piece = piece[1:]  # the detokenizer drops a leading BOS's space
        answer.text += piece
        answer.pending_bytes = lead_bytes_pending(answer.text, answer.pending_bytes)
        if answer.pending_bytes > 0:
            answer.pending_bytes -= 1
            return None
        hits = [s for s in prompt.stop if s in answer.text]
        if hits:
            return self._finish(slot, "stop", answer.text[:answer.text.index(hits[0])])
        if (prompt.stop_loops and b"\n" in piece
                and loops.loop_start(answer.text.decode("utf-8", errors="ignore")) is not None):
            return self._finish(slot, "loop", answer.text)
        if len(answer.tokens) >= prompt.max_tokens:
            return self._finish(slot, "length", answer.text)
        return None

    def _finish(self, slot: _Slot, reason: str, text: bytes) -> tuple[int, Completion]:
        """Free the slot (its stream stays, for the next request's prefix) and make the completion."""
        answer = slot.answer
        assert answer is not None
        slot.answer = None
        out = text.decode("utf-8", errors="ignore")
        if answer.prompt.stop_loops:  # as the streamed path reports it: no prompt count, the answer re-tokenized
            counted = len(self.o.llm.tokenize(out.encode("utf-8"), add_bos=False, special=True)) if out else 0
            return answer.index, Completion(out, reason, None, counted, 0.0)
        return answer.index, Completion(out, reason, len(answer.prompt.tokens), len(answer.tokens), 0.0)
