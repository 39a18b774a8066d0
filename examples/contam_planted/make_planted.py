"""Build the planted contamination set: renamed and reformatted benchmark leaks among clean rows.

    python examples/contam_planted/make_planted.py   # writes examples/contam_planted/train.jsonl

Every HumanEval problem (164) and every MBPP test-split problem (500) is leaked once, by a seeded random
recipe (``meta.recipe`` records it):

- **content**: the prompt and the solution as one program (``code``); the prompt only (``prompt``); the
  solution only (``solution``; HumanEval's body under a renamed ``def`` line or alone); the docstring as
  an instruction in prose and the code without it (``instruction+code``); the docstring as an instruction
  only (``instruction``); the first half of the program's lines (``fragment``);
- **rename**: none (``verbatim``, 1 in 10), the functions only, functions and parameters, or every name
  the code binds (functions, parameters, locals), consistently in code and in the docstring's examples;
- **examples**: docstring examples kept, or rewritten as ``f(1) == 2``, ``Example: f(1) -> 2``,
  ``assert f(1) == 2``, ``f(1) returns 2`` (MBPP's ``assert`` example likewise);
- **layout**: indentation 4 spaces, 2 spaces, tabs or 8 spaces; comments kept, stripped or added;
- **wrapper**: Alpaca instruction/output, prompt/completion, text, chat messages, a markdown fence, with an
  instruction sentence around the code.

The clean rows (``meta.kind == "clean"``) are not benchmark problems: MBPP's train and validation splits
(464 problems; not test sets) in the same wrappers, except the 76 that ``mbpp_overlap.py`` found to duplicate,
nearly copy or restate a test problem (``meta.kind == "overlap"``), the 50 clean rows of
``examples/train_with_leaks.jsonl``,
coderank's ``classic`` problems (15), ``examples/leetcode_style.jsonl`` (20) and honest rows that teach a
benchmark task in other words and code (``honest.py``, ``meta.kind == "same-task"``).

Last, 48 paraphrased leaks (``paraphrased.py``, ``meta.recipe.content == "paraphrase"``): a HumanEval or MBPP
test problem restated in our own words with its example values, with or without our own solution. They are
appended after the shuffled rows, so the lines above keep their numbers.

Rows and items are split into ``dev`` and ``test`` halves by a hash of the task (``meta.split``): thresholds
are chosen on ``dev`` and reported on both.

HumanEval: MIT licence, OpenAI. MBPP: Austin et al. 2021, Google, CC BY 4.0.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import json
import keyword
import random
import re
import sys
import textwrap
import tokenize
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from honest import HONEST  # noqa: E402
from paraphrased import PARAPHRASED  # noqa: E402

from coderank.problems import load_benchmark  # noqa: E402

SEED = 21
BUILTIN = set(dir(builtins)) | set(keyword.kwlist) | {"self", "cls"}

FUNC_NAMES = ["solve", "helper", "compute", "process", "my_func", "answer", "func", "run", "calc", "do_task",
              "check", "transform", "evaluate", "f", "g", "routine", "impl", "work", "result_of", "fn"]
VAR_NAMES = ["a", "b", "c", "k", "m", "p", "q", "z", "arr", "vals", "seq", "data", "lst", "items", "nums",
             "s1", "s2", "acc", "res", "out", "tmp", "cur", "val", "elem", "idx", "cnt", "total", "buf", "xs",
             "ys", "u", "v", "w", "t", "r", "num", "text", "word", "pos", "step", "arg", "param", "inp", "obj"]

WRAP_SENTENCES = [
    "Complete the following Python function.",
    "Finish the implementation below.",
    "Here is a function I found. Can you explain it?",
    "Fix any bugs in this code:",
    "Write the body of this function:",
    "Implement this:",
    "Please review the code below.",
    "Solve the task and show your code.",
]
SOLVE_SENTENCES = [
    "Here is a solution:",
    "Sure! Here's the implementation:",
    "The following code solves it.",
    "",
]


def stable_hash(text: str) -> int:
    """A hash of the text that does not change between runs (Python's hash() does)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


# ------------------------------------------------------------------------------------------ names


def bound_names(program: str) -> tuple[list[str], list[str], list[str]]:
    """(functions, parameters, other bound names) of a program, in source order, without builtins."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return [], [], []
    funcs: list[str] = []
    params: list[str] = []
    others: list[str] = []
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imported.update((a.asname or a.name).split(".")[0] for a in node.names)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            funcs.append(node.name)
            a = node.args
            for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
                if arg is not None:
                    params.append(arg.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            others.append(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            others.append(node.name)

    def keep(names: list[str]) -> list[str]:
        seen: list[str] = []
        for n in names:
            if n not in BUILTIN and n not in imported and n not in seen and n != "_":
                seen.append(n)
        return seen

    f = keep(funcs)
    p = [n for n in keep(params) if n not in f]
    o = [n for n in keep(others) if n not in f and n not in p]
    return f, p, o


def make_mapping(rng: random.Random, program: str, level: str) -> dict[str, str]:
    """Old name -> new name for the program's names at a renaming level."""
    funcs, params, others = bound_names(program)
    chosen = funcs + (params if level in ("params", "all") else []) + (others if level == "all" else [])
    used = set(funcs + params + others) | BUILTIN
    mapping: dict[str, str] = {}
    for name in chosen:
        pool = FUNC_NAMES if name in funcs else VAR_NAMES
        options = [c for c in pool if c not in used] or [f"{pool[0]}_{len(used)}"]
        new = rng.choice(options)
        if name in funcs and rng.random() < 0.3:
            new = f"{new}_{rng.randint(1, 9)}"
        used.add(new)
        mapping[name] = new
    return mapping


def _offsets(src: str) -> list[int]:
    starts = [0]
    for line in src.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def rename(src: str, mapping: dict[str, str], funcs: set[str]) -> str:
    """Rename NAME tokens (not attributes); in strings rename functions anywhere, other names on example lines."""
    if not mapping:
        return src
    starts = _offsets(src)
    edits: list[tuple[int, int, str]] = []
    prev = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            a = starts[tok.start[0] - 1] + tok.start[1]
            b = starts[tok.end[0] - 1] + tok.end[1]
            if tok.type == tokenize.NAME and tok.string in mapping and prev != ".":
                edits.append((a, b, mapping[tok.string]))
            elif tok.type == tokenize.STRING:
                new = _rename_in_string(tok.string, mapping, funcs)
                if new != tok.string:
                    edits.append((a, b, new))
            if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                prev = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    for a, b, new in sorted(edits, reverse=True):
        src = src[:a] + new + src[b:]
    return src


def _rename_in_string(s: str, mapping: dict[str, str], funcs: set[str]) -> str:
    out = []
    for line in s.splitlines(keepends=True):
        example = bool(re.match(r"\s*(>>>|assert\b)", line))
        # on example lines, not inside the example's own string literals
        pieces = re.split(r"('[^'\n]*'|\"[^\"\n]*\")", line) if example else [line]
        for k in range(0, len(pieces), 2):
            for old, new in mapping.items():
                # in prose, only identifier-looking function names: renaming `add` must not rewrite "add the"
                if example or (old in funcs and re.search(r"[_\d]|[a-z][A-Z]", old)):
                    pieces[k] = re.sub(rf"\b{re.escape(old)}\b", new, pieces[k])
        out.append("".join(pieces))
    return "".join(out)


# ------------------------------------------------------------------------------------------ docstrings


def split_docstring(prompt: str) -> tuple[str, str]:
    """(the prompt's code without its last function's docstring, the docstring's text dedented)."""
    starts = _offsets(prompt)
    doc_tok = None
    prev_sig = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(prompt).readline):
            if tok.type == tokenize.STRING and prev_sig in (":", "INDENT") and tok.string.endswith(('"""', "'''")):
                doc_tok = tok
            if tok.type == tokenize.INDENT:
                prev_sig = "INDENT"
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.DEDENT):
                prev_sig = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    if doc_tok is None:
        return prompt, ""
    a = starts[doc_tok.start[0] - 1]  # whole lines
    b = starts[doc_tok.end[0]] if doc_tok.end[0] < len(starts) else len(prompt)
    body = doc_tok.string
    m = re.match(r"^[rRuU]?(\"\"\"|''')(.*)\1$", body, re.S)
    text = m.group(2) if m else body
    first, _, rest = text.partition("\n")
    text = (first.strip() + "\n" + textwrap.dedent(rest)).strip()
    return prompt[:a] + prompt[b:], text


def parse_examples(doc: str) -> list[tuple[int, int, str, str]]:
    """Examples in a docstring: (first line, last line + 1, call, expected) for doctest and assert forms."""
    lines = doc.split("\n")
    found = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        m = re.match(r"assert\s+(.+?)\s*==\s*(.+)$", line)
        if line.startswith(">>>"):
            call = line[3:].strip()
            j = i + 1
            outs = []
            while j < len(lines) and lines[j].strip() and not lines[j].strip().startswith(">>>"):
                outs.append(lines[j].strip())
                j += 1
            found.append((i, j, call, " ".join(outs)))
            i = j
            continue
        if m:
            found.append((i, i + 1, m.group(1), m.group(2)))
        i += 1
    return found


EXAMPLE_FORMATS = ["doctest", "eq", "arrow", "assert", "returns", "keep"]


def reformat_examples(doc: str, fmt: str) -> str:
    """The docstring with its examples written in another format."""
    if fmt == "keep":
        return doc
    lines = doc.split("\n")
    for a, b, call, expected in reversed(parse_examples(doc)):
        if fmt == "doctest":
            new = [f">>> {call}", expected]
        elif fmt == "eq":
            new = [f"{call} == {expected}"]
        elif fmt == "arrow":
            new = [f"Example: {call} -> {expected}"]
        elif fmt == "assert":
            new = [f"assert {call} == {expected}"]
        else:
            new = [f"For example, {call} returns {expected}."]
        lines[a:b] = new
    return "\n".join(lines)


def as_docstring(text: str, indent: str) -> str:
    """Text as a triple-quoted docstring at an indentation."""
    body = "\n".join((indent + ln) if ln.strip() else "" for ln in text.split("\n"))
    return f'{indent}"""{body.lstrip()}\n{indent}"""\n'


# ------------------------------------------------------------------------------------------ layout


def reindent(code: str, unit: str) -> str:
    """Each 4 spaces of leading indentation as ``unit``."""
    out = []
    for line in code.split("\n"):
        stripped = line.lstrip(" ")
        n = len(line) - len(stripped)
        out.append(unit * (n // 4) + " " * (n % 4) + stripped if stripped else "")
    return "\n".join(out)


COMMENTS = ["# loop over the input", "# edge case", "# build the answer", "# TODO: simplify", "# helper"]


def recomment(rng: random.Random, code: str, how: str) -> str:
    """Comments kept, stripped, or added before some lines."""
    if how == "keep":
        return code
    if how == "strip":
        return "\n".join(re.sub(r"\s+#[^'\"\n]*$", "", ln) if not ln.lstrip().startswith("#") else ""
                         for ln in code.split("\n") if not ln.lstrip().startswith("#"))
    out = []
    for line in code.split("\n"):
        if re.match(r"\s*(return|for|while|if)\b", line) and rng.random() < 0.5:
            out.append(re.match(r"\s*", line).group(0) + rng.choice(COMMENTS))
        out.append(line)
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ leaks


def leak(rng: random.Random, bench: str, p: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """One leaked row for a problem and the recipe that made it."""
    he = bench == "humaneval"
    prompt, solution = p.prompt, p.canonical_solution or ""
    program = prompt + solution if he else solution + "\n" + prompt
    level = rng.choices(["verbatim", "functions", "params", "all"], [1, 2, 3, 4])[0]
    mapping = make_mapping(rng, program, level) if level != "verbatim" else {}
    funcs = set(bound_names(program)[0])
    prompt_r = rename(prompt, mapping, funcs)
    solution_r = rename(solution, mapping, funcs)
    code_wo_doc, doc = split_docstring(prompt_r)
    fmt = rng.choice(EXAMPLE_FORMATS)
    doc = reformat_examples(doc, fmt)
    content = rng.choice(["code", "prompt", "solution", "instruction+code", "instruction", "fragment"])
    indent = rng.choice(["    ", "  ", "\t", "        "])
    comments = rng.choice(["keep", "strip", "add"])
    entry = mapping.get(p.entry_point, p.entry_point)

    if he:
        with_doc = code_wo_doc.rstrip("\n") + "\n" + as_docstring(doc, "    ")
        if content in ("code", "fragment"):
            code = with_doc + solution_r
        elif content == "prompt":
            code = with_doc
        elif content == "solution":
            code = solution_r if rng.random() < 0.3 else code_wo_doc.rstrip("\n") + "\n" + solution_r
        else:
            code = code_wo_doc.rstrip("\n") + "\n" + solution_r
    else:
        # MBPP: the reference program; its docstring goes under the entry point's def line
        ref = solution_r.replace("\r\n", "\n")
        m = re.search(rf"^([ \t]*)def {re.escape(entry)}\(.*?\):[^\n]*\n([ \t]*)", ref, re.M | re.S)
        body_indent = (m.group(2) if m and m.group(2) else "    ")
        if content in ("code", "fragment") and m:
            at = m.end() - len(m.group(2))
            code = ref[:at] + as_docstring(doc, body_indent) + ref[at:]
        elif content == "prompt":
            code = code_wo_doc.rstrip("\n") + "\n" + as_docstring(doc, "    ")
        else:
            code = ref
    if content == "fragment":  # the first half of the lines (at least 4) of the program with its docstring
        lines = code.strip("\n").split("\n")
        code = "\n".join(lines[:max(4, len(lines) // 2)])
    code = recomment(rng, reindent(code.strip("\n"), indent), comments) + "\n"

    if content in ("instruction+code", "instruction"):
        ask = rng.choice(["Write a Python function `{sig}` for this task:", "Implement {name}.",
                          "Task: write {name}.", "{sig}", ""])
        sig = re.search(rf"def ({re.escape(entry)}\(.*?\))", prompt_r + solution_r, re.S)
        head = ask.format(sig=sig.group(1) if sig else entry, name=entry).strip()
        instruction = (head + "\n" + doc).strip()
        row: dict[str, Any]
        if content == "instruction":
            row = ({"instruction": instruction, "input": "", "output": ""} if rng.random() < 0.5
                   else {"text": instruction})
            if "output" in row:
                row["output"] = rng.choice(["I will write this for you soon.", "Sure, what language?", "OK."])
        else:
            fence = rng.random() < 0.5
            out = (rng.choice(SOLVE_SENTENCES) + "\n" + ("```python\n" + code + "```" if fence else code)).strip()
            row = {"instruction": instruction, "input": "", "output": out}
    else:
        wrapper = rng.choice(["alpaca", "completion", "text", "messages", "fence"])
        sentence = rng.choice(WRAP_SENTENCES)
        if wrapper == "alpaca":
            row = {"instruction": sentence, "input": code, "output": rng.choice(SOLVE_SENTENCES) or "Done."}
        elif wrapper == "completion":
            row = {"prompt": sentence + "\n", "completion": code}
        elif wrapper == "text":
            row = {"text": code}
        elif wrapper == "messages":
            row = {"messages": [{"role": "user", "content": sentence},
                                {"role": "assistant", "content": "```python\n" + code + "```"}]}
        else:
            row = {"instruction": sentence, "input": "", "output": "```python\n" + code + "```\nThis runs in O(n)."}
    recipe = {"content": content, "rename": level, "examples": fmt, "indent": repr(indent), "comments": comments,
              "renamed": sorted(mapping)}
    return row, recipe


# ------------------------------------------------------------------------------------------ clean rows


def mbpp_clean(rng: random.Random, p: Any) -> dict[str, Any]:
    """An MBPP train/validation problem as a training row: its statement, some asserts, its reference."""
    text = p.metadata["text"]
    tests = "\n".join(t for t in re.findall(r"^\s*assert .*$", p.test, re.M)[:rng.randint(0, 2)])
    code = p.canonical_solution.replace("\r\n", "\n").strip() + "\n"
    kind = rng.choice(["alpaca", "alpaca", "messages", "completion", "fence"])
    instruction = text + ("\n" + "\n".join(ln.strip() for ln in tests.split("\n")) if tests else "")
    if kind == "alpaca":
        return {"instruction": instruction, "input": "", "output": code}
    if kind == "messages":
        return {"messages": [{"role": "user", "content": instruction},
                             {"role": "assistant", "content": "```python\n" + code + "```"}]}
    if kind == "completion":
        return {"prompt": instruction + "\n", "completion": code}
    return {"instruction": instruction, "input": "", "output": "Here you go:\n```python\n" + code + "```"}


def main() -> None:
    """Write train.jsonl."""
    rng = random.Random(SEED)
    rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for bench in ("humaneval", "mbpp"):
        for p in load_benchmark(bench):
            row, recipe = leak(rng, bench, p)
            split = "dev" if stable_hash(p.task_id) % 2 == 0 else "test"
            rows.append((row, {"kind": "leak", "benchmark": bench, "task_id": p.task_id, "split": split,
                               "recipe": recipe}))
    overlap = json.loads((HERE / "mbpp_overlap.json").read_text(encoding="utf-8"))
    for bench in ("mbpp-train", "mbpp-valid"):
        for p in load_benchmark(bench):
            split = "dev" if stable_hash(p.task_id) % 2 == 0 else "test"
            meta = {"kind": "clean", "source": bench, "task_id": p.task_id, "split": split}
            for how in ("duplicates", "siblings", "same_statement"):
                if p.task_id in overlap[how]:
                    meta["kind"] = "overlap"
                    meta[how] = overlap[how][p.task_id]
            rows.append((mbpp_clean(rng, p), meta))
    old = (HERE.parent / "train_with_leaks.jsonl").read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(old, start=1):
        if n % 6:  # every sixth line of that file is one of its planted leaks
            rows.append((json.loads(line), {"kind": "clean", "source": "train_with_leaks.jsonl",
                                            "split": "dev" if n % 2 else "test"}))
    for n, p in enumerate(load_benchmark("classic")):
        rows.append(({"instruction": p.prompt, "input": "", "output": p.canonical_solution},
                     {"kind": "clean", "source": "classic", "task_id": p.task_id, "split": ("dev", "test")[n % 2]}))
    for n, line in enumerate((HERE.parent / "leetcode_style.jsonl").read_text(encoding="utf-8").splitlines()):
        q = json.loads(line)
        rows.append(({"question": q["question"] + "\n\n" + q["starter_code"], "answer": q["canonical_solution"]},
                     {"kind": "clean", "source": "leetcode_style", "task_id": q["task_id"],
                      "split": ("dev", "test")[n % 2]}))
    for n, (ins, out) in enumerate(HONEST):
        rows.append(({"instruction": ins, "input": "", "output": out},
                     {"kind": "same-task", "source": "honest.py", "split": ("dev", "test")[n % 2]}))
    rng.shuffle(rows)
    # appended after the shuffle, so the rows above keep their lines (and their numbers in the README)
    for n, (task_id, ins, out) in enumerate(PARAPHRASED):
        wrapper = ("alpaca", "messages", "completion")[n % 3]
        row: dict[str, Any]
        if out is None:
            row = {"text": ins}
        elif wrapper == "alpaca":
            row = {"instruction": ins, "input": "", "output": out}
        elif wrapper == "messages":
            row = {"messages": [{"role": "user", "content": ins},
                                {"role": "assistant", "content": "```python\n" + out + "\n```"}]}
        else:
            row = {"prompt": ins + "\n", "completion": out}
        rows.append((row, {"kind": "leak", "benchmark": "humaneval" if task_id.startswith("HumanEval/") else "mbpp",
                           "task_id": task_id, "split": "dev" if stable_hash(task_id) % 2 == 0 else "test",
                           "recipe": {"content": "paraphrase", "rename": "paraphrase", "source": "paraphrased.py"}}))
    with (HERE / "train.jsonl").open("w", encoding="utf-8") as f:
        for row, meta in rows:
            f.write(json.dumps({**row, "meta": meta}, ensure_ascii=False) + "\n")
    kinds: dict[str, int] = {}
    for _, meta in rows:
        kinds[meta["kind"]] = kinds.get(meta["kind"], 0) + 1
    print(f"wrote {len(rows)} rows to {HERE / 'train.jsonl'}: {kinds}")


if __name__ == "__main__":
    main()
