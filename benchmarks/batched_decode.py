"""Batched greedy decoding (``coderank eval --batch-size B``) against today's one-at-a-time path, in one run.

The same greedy chat requests (the first N HumanEval problems, as ``coderank eval`` renders them) are answered
by today's path (``Llama.create_chat_completion``, one request after another, from an empty KV cache as in a
fresh run) and by :class:`coderank.models.batched.BatchedGreedy` with each batch size, on one loaded model. The
methods take turns (each round runs all of them, the order rotating from round to round) so that a change in
the machine's load hits them alike. Nothing goes through a store or cache.

Printed per method: wall time, completion tokens, tokens per second, the speed-up over today's path, how many
answers (text and finish reason) are identical to today's, the differing task ids, and whether the method gave
the same answers in every round. ``--score`` also runs every answer in the sandbox and prints each method's
passes and, for the answers that differ from today's, which verdicts changed. From the measured speed the last
line estimates the generation time of all 164 HumanEval problems (scaling the tokens of these N answers).

    python benchmarks/batched_decode.py [-n 24] [--batch-sizes 2,4,8] [--threads 2] [--rounds 1] [--score]
    python benchmarks/batched_decode.py -n 0 --steps 1,4,8,16,32      # only the cost of one decode step
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from coderank.evaluation import default_template
from coderank.models.backends import BackendOptions, Completion, LlamaCppBackend, Request, load_backend
from coderank.models.batched import BatchedGreedy
from coderank.models.prompts import get_template
from coderank.problems import load_benchmark

HUMANEVAL_PROBLEMS = 164


@dataclass
class Method:
    name: str
    batch: int  # 0: today's path
    seconds: list[float] = field(default_factory=list)
    tokens: int = 0
    answers: list[Completion] | None = None
    stable: bool = True


def requests_for(problems: list, template_name: str, max_tokens: int) -> tuple[list[Request], str]:
    """The requests ``coderank eval`` sends for these problems (greedy, seed 0), and the extraction mode."""
    template = get_template(template_name).used_for(problems)
    out = []
    for p in problems:
        r = template.render(p)
        out.append(Request(kind=r.kind, text=r.text,
                           messages=tuple((m["role"], m["content"]) for m in r.messages) if r.messages else None,
                           max_tokens=max_tokens, temperature=0.0, top_p=1.0, stop=tuple(r.stop), seed=0))
    return out, template.extract


def run(method: Method, backend: LlamaCppBackend, requests: list[Request]) -> list[Completion]:
    answers: list[Completion | None] = [None] * len(requests)
    if method.batch == 0:
        backend.llm.reset()  # an empty KV cache, as a fresh `coderank eval` starts
        pairs = backend.generate(requests)
    else:
        pairs = BatchedGreedy(backend.llm, method.batch).generate(requests, backend._one)
    for i, comp in pairs:
        assert answers[i] is None, f"request {i} answered twice"
        answers[i] = comp
    assert all(a is not None for a in answers), "a request was not answered"
    return answers  # type: ignore[return-value]


def same(a: Completion, b: Completion) -> bool:
    return a.text == b.text and a.finish_reason == b.finish_reason


def score(problems: list, answers: list[Completion], mode: str) -> list[str]:
    """Each answer's verdict in the sandbox (``no_code`` where nothing could be extracted)."""
    from coderank.execution.pool import Job, open_pool
    from coderank.models.extract import extract_program

    verdicts = ["no_code"] * len(answers)
    jobs = []
    for i, (p, a) in enumerate(zip(problems, answers, strict=True)):
        program = extract_program(p, a.text, mode).program
        if program is not None:
            jobs.append(Job(i, p, program))
    with open_pool(workers=2) as executor:
        for job, verdict in executor.map(jobs):
            verdicts[job.key] = verdict.status.value
    return verdicts


def step_times(llm: object, sizes: list[int], context: int = 400) -> None:
    """Print what one decode step of B sequences costs, each ``context`` tokens deep, and the prompt-reading rate.

    Each sequence's prompt is read first (timed: tokens per second), then 40 / B (at least 4) steps of B tokens.
    """
    import ctypes

    import llama_cpp
    import numpy as np

    text = b"def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n" * 40
    tokens = llm.tokenize(text, add_bos=False)[:context]  # type: ignore[attr-defined]
    n_vocab = llm.n_vocab()  # type: ignore[attr-defined]
    base = llm.context_params  # type: ignore[attr-defined]
    for size in sizes:
        params = type(base).from_buffer_copy(base)
        params.n_ctx, params.n_seq_max, params.kv_unified = 1024 * size, size, False
        ctx = llama_cpp.llama_init_from_model(llm.model, params)  # type: ignore[attr-defined]
        batch = llama_cpp.llama_batch_init(512, 0, 1)

        def decode(rows: list[tuple[int, int, int, bool]], ctx: object = ctx, batch: object = batch) -> None:
            b: Any = batch
            b.n_tokens = len(rows)
            for r, (tok, pos, seq, logits) in enumerate(rows):
                b.token[r], b.pos[r], b.n_seq_id[r], b.logits[r] = tok, pos, 1, logits
                b.seq_id[r][0] = seq
            assert llama_cpp.llama_decode(ctx, b) == 0

        try:
            start = time.perf_counter()
            for s in range(size):
                decode([(t, i, s, i == len(tokens) - 1) for i, t in enumerate(tokens)])
            reading = size * len(tokens) / (time.perf_counter() - start)
            steps = max(4, 40 // size)
            start = time.perf_counter()
            for k in range(steps):
                decode([(tokens[k], len(tokens) + k, s, True) for s in range(size)])
                for s in range(size):
                    logits = llama_cpp.llama_get_logits_ith(ctx, s)
                    int(np.ctypeslib.as_array(ctypes.cast(logits, ctypes.POINTER(ctypes.c_float)),
                                              shape=(n_vocab,)).argmax())
            step = (time.perf_counter() - start) / steps
            print(f"  B={size:<3d} decode step {step * 1000:6.1f} ms, {size / step:6.1f} tokens/s; "
                  f"prompt read at {reading:5.0f} tokens/s")
        finally:
            llama_cpp.llama_batch_free(batch)
            llama_cpp.llama_free(ctx)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", default="default")
    ap.add_argument("-n", type=int, default=24, help="problems (HumanEval's first N)")
    ap.add_argument("--batch-sizes", default="2,4,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--template", default=None, help="default: what coderank eval picks for the model")
    ap.add_argument("--score", action="store_true", help="run the answers in the sandbox")
    ap.add_argument("--steps", default=None, help="also time one decode step of these batch sizes (e.g. "
                    "1,4,8,16,32), 400 tokens deep, and the prompt-reading rate; with -n 0 only that")
    args = ap.parse_args()
    if args.n == 0:
        backend = load_backend(args.model, BackendOptions(threads=args.threads, n_ctx=512))
        assert isinstance(backend, LlamaCppBackend)
        try:
            print(f"{args.model}, --threads {args.threads}:")
            step_times(backend.llm, [int(b) for b in (args.steps or "1,4,8,16,32").split(",")])
        finally:
            backend.close()
        return 0

    problems = list(load_benchmark("humaneval"))[:args.n]
    requests, mode = requests_for(problems, args.template or default_template(args.model), args.max_tokens)
    methods = [Method("today (one at a time)", 0)] + [Method(f"batched B={b}", int(b))
                                                      for b in args.batch_sizes.split(",")]
    backend = load_backend(args.model, BackendOptions(threads=args.threads))
    assert isinstance(backend, LlamaCppBackend)
    try:
        for r in range(args.rounds):
            order = methods[r % len(methods):] + methods[:r % len(methods)]
            for m in order:
                start = time.perf_counter()
                answers = run(m, backend, requests)
                m.seconds.append(time.perf_counter() - start)
                tokens = sum(a.completion_tokens or 0 for a in answers)
                if m.answers is None:
                    m.answers, m.tokens = answers, tokens
                else:
                    m.stable &= all(same(a, b) for a, b in zip(m.answers, answers, strict=True))
                print(f"round {r + 1}: {m.name}: {m.seconds[-1]:.1f} s, {tokens} tokens (load average "
                      f"{os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
        if args.steps:
            print(f"{args.model}, --threads {args.threads}:")
            step_times(backend.llm, [int(b) for b in args.steps.split(",")])
    finally:
        backend.close()

    today = methods[0]
    assert today.answers is not None
    verdicts = {m.name: score(problems, m.answers or [], mode) for m in methods} if args.score else {}
    base_s = statistics.median(today.seconds)
    print(f"{args.model} on the first {len(problems)} HumanEval problems, greedy, max {args.max_tokens} tokens, "
          f"--threads {args.threads}, {args.rounds} round(s): median wall time (fastest round in brackets)")
    print(f"{'method':24s} {'wall s':>16s} {'tokens':>7s} {'tok/s':>7s} {'speed-up':>8s} {'same as today':>14s}"
          + ("  passed" if args.score else ""))
    for m in methods:
        assert m.answers is not None
        secs = statistics.median(m.seconds)
        ident = sum(same(a, b) for a, b in zip(m.answers, today.answers, strict=True))
        passed = f"  {verdicts[m.name].count('passed')}/{len(problems)}" if args.score else ""
        wall = f"{secs:.1f} ({min(m.seconds):.1f})"
        print(f"{m.name:24s} {wall:>16s} {m.tokens:7d} {m.tokens / secs:7.1f} {base_s / secs:7.2f}x "
              f"{ident:7d}/{len(problems):<6d}{passed}" + ("" if m.stable else "  (answers varied between rounds)"))
    for m in methods[1:]:
        assert m.answers is not None
        diff = [i for i, (a, b) in enumerate(zip(m.answers, today.answers, strict=True)) if not same(a, b)]
        if not diff:
            continue
        words = []
        for i in diff:
            w = problems[i].task_id
            if args.score:
                before, after = verdicts[today.name][i], verdicts[m.name][i]
                w += f" ({before}" + (f" -> {after})" if after != before else ", unchanged)")
            words.append(w)
        print(f"  {m.name} differs from today on: {', '.join(words)}")
    scale = HUMANEVAL_PROBLEMS / len(problems)
    print(f"estimated generation time of all {HUMANEVAL_PROBLEMS} problems (these answers' time x {scale:.2f}): "
          + ", ".join(f"{m.name.split(' ')[0] if m.batch == 0 else 'B=' + str(m.batch)} "
                      f"{statistics.median(m.seconds) * scale / 60:.1f} min" for m in methods))
    return 0


if __name__ == "__main__":
    sys.exit(main())
