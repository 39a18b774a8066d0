"""What ``--stop-loops`` saves: a base model's greedy answers generated whole and stopped at their first loop.

For each of the first N problems of a benchmark, the same request is generated twice by the same in-process
llama.cpp model, whole (to ``--max-tokens``) and with ``stop_loops`` (streamed, stopped when a loop is seen),
alternating per problem so that a change in the machine's load hits both alike. Prints tokens and seconds of
each, the ratio of times, and checks the claim the option rests on: every stopped answer is exactly the whole
answer with its loop cut off (:func:`coderank.models.loops.cut_loop`). Nothing goes through a store or cache.

Both generations start from an empty KV cache: llama.cpp reuses the cached prefix of the previous prompt, and
the same prompt run twice in a row then evaluates only its last token, which can change a greedy answer (seen
here: gemma-270m on MBPP/28 answers differently on the second try). The comparison needs equal conditions.

    python benchmarks/loop_stop.py [-m gemma-270m] [-b mbpp] [-n 30] [--threads 1] [--max-tokens 512]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from coderank.models import loops
from coderank.models.backends import BackendOptions, Request, load_backend
from coderank.models.prompts import get_template
from coderank.problems import load_benchmark


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", default="gemma-270m")
    ap.add_argument("-b", "--benchmark", default="mbpp")
    ap.add_argument("-n", type=int, default=30, help="problems (the benchmark's first N)")
    ap.add_argument("--template", default="completion")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-tokens", type=int, default=512)
    args = ap.parse_args()

    problems = list(load_benchmark(args.benchmark))[:args.n]
    template = get_template(args.template)
    model = load_backend(args.model, BackendOptions(n_ctx=2048, threads=args.threads))
    whole_s = stop_s = 0.0
    whole_tok = stop_tok = looped = same = 0
    try:
        for i, problem in enumerate(problems, start=1):
            r = template.render(problem)
            req = Request(r.kind, r.text, tuple((m["role"], m["content"]) for m in r.messages) if r.messages else None,
                          args.max_tokens, 0.0, 1.0, tuple(r.stop), 0)
            model.llm.reset()  # each generation from an empty KV cache (see below)
            start = time.perf_counter()
            [(_, whole)] = list(model.generate([req]))
            whole_s += time.perf_counter() - start
            model.llm.reset()
            start = time.perf_counter()
            [(_, early)] = list(model.generate([replace(req, stop_loops=True)]))
            stop_s += time.perf_counter() - start
            whole_tok += whole.completion_tokens or 0
            stop_tok += early.completion_tokens or 0
            expected = loops.cut_loop(whole.text)
            got = loops.cut_loop(early.text)
            looped += expected is not None
            equal = (expected if expected is not None else whole.text) == (got if got is not None else early.text)
            same += equal
            print(f"{i:3d}/{len(problems)} {problem.task_id}: whole {whole.completion_tokens} tokens "
                  f"({whole.finish_reason}), stopped {early.completion_tokens} ({early.finish_reason})"
                  + ("" if equal else "  DIFFERENT"),
                  file=sys.stderr, flush=True)
    finally:
        model.close()
    print(f"{args.model} on the first {len(problems)} {args.benchmark} problems, {args.threads} thread(s), "
          f"max {args.max_tokens} tokens")
    print(f"  whole answers:       {whole_tok:6d} tokens  {whole_s:7.1f} s")
    print(f"  with stop_loops:     {stop_tok:6d} tokens  {stop_s:7.1f} s")
    print(f"  time ratio (stop/whole): {stop_s / whole_s:.2f}   answers that looped: {looped}/{len(problems)}")
    print(f"  stopped answer == whole answer cut: {same}/{len(problems)}")
    return 0 if same == len(problems) else 1


if __name__ == "__main__":
    sys.exit(main())
