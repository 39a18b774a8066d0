"""MBPP bundled: the pinned data, the authors' splits, entry points, prompts for chat and base models, references."""

import ast
import fnmatch
import gzip
import hashlib
import importlib.resources
import json
import tomllib
from pathlib import Path

import pytest

from coderank.errors import CoderankError
from coderank.execution.pool import Executor, Job
from coderank.execution.sandbox import Limits
from coderank.models.extract import extract_program
from coderank.models.prompts import get_template
from coderank.problems import load_benchmark, mbpp, names
from coderank.types import Status

# Some references hold invalid escapes ('\s' in a regex): parsing them warns, which is the data, not a finding.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")

# The release's own SHA256SUMS value, written out here so that a change of the pinned constant fails a test too.
RELEASE_SHA256 = "ccf64ceae9c5403bf50a044cb6d505bfd2a2963ee58338ba268fd65beab92a9f"
SETS = {"mbpp": (11, 510), "mbpp-valid": (511, 600), "mbpp-train": (601, 974)}


@pytest.fixture(scope="module")
def sets():
    return {name: load_benchmark(name) for name in SETS}


@pytest.fixture(scope="module")
def release():
    return {row["task_id"]: row for row in mbpp.rows()}


def _all(sets):
    return [p for bench in sets.values() for p in bench]


# --- the data ----------------------------------------------------------------------------------------------------


def test_the_bundled_file_is_the_pinned_release():
    raw = importlib.resources.files("coderank.problems").joinpath("data", "mbpp.jsonl.gz").read_bytes()
    assert hashlib.sha256(gzip.decompress(raw)).hexdigest() == RELEASE_SHA256 == mbpp.SHA256
    rows = mbpp.rows()
    assert [r["task_id"] for r in rows] == list(range(1, 975))
    assert all(len(r["test_list"]) == 3 for r in rows)


def test_altered_or_damaged_data_is_refused_with_the_fix():
    good = importlib.resources.files("coderank.problems").joinpath("data", "mbpp.jsonl.gz").read_bytes()
    altered = gzip.compress(gzip.decompress(good).replace(b"remove_Occ", b"remove_occ"))
    with pytest.raises(CoderankError) as info:
        mbpp._decode(altered)
    assert "not the pinned release" in info.value.message and RELEASE_SHA256 in info.value.message
    assert "reinstall" in info.value.hint
    with pytest.raises(CoderankError, match="not valid gzip"):
        mbpp._decode(good[:1000])


def test_loading_checks_the_hash_of_the_installed_file(monkeypatch):
    class Altered:
        def read_bytes(self):
            return gzip.compress(b'{"task_id": 11}\n')

    monkeypatch.setattr(mbpp, "_resource", Altered)
    mbpp.rows.cache_clear()
    try:
        with pytest.raises(CoderankError, match="not the pinned release"):
            load_benchmark("mbpp")
    finally:
        monkeypatch.undo()
        mbpp.rows.cache_clear()
    assert len(load_benchmark("mbpp")) == 500


def test_the_attribution_ships_with_the_data_and_in_every_problem(sets):
    data = importlib.resources.files("coderank.problems").joinpath("data")
    notice = data.joinpath("MBPP-NOTICE.txt").read_text()
    assert "CC BY 4.0" in notice and "Austin" in notice and "Google" in notice and RELEASE_SHA256 in notice
    # pyproject's package data must take both files into the wheel
    patterns = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["coderank"]
    for name in ("problems/data/mbpp.jsonl.gz", "problems/data/MBPP-NOTICE.txt"):
        assert any(fnmatch.fnmatch(name, pat) for pat in patterns), name
    for p in _all(sets):
        assert p.metadata["attribution"] == mbpp.ATTRIBUTION and "CC BY 4.0" in p.metadata["attribution"]
    assert all("CC BY 4.0" in b.source for b in sets.values())


# --- the splits --------------------------------------------------------------------------------------------------


def test_the_three_sets_follow_the_authors_splits(sets):
    assert set(SETS) <= set(names())
    for name, (first, last) in SETS.items():
        bench = sets[name]
        assert bench.name == name
        assert list(bench.problems) == [f"MBPP/{i}" for i in range(first, last + 1)]
        assert {p.metadata["split"] for p in bench} == {mbpp.SPLITS[name][0]}
    assert [len(sets[n]) for n in SETS] == [500, 90, 374]
    assert sets["mbpp"].sha256 == load_benchmark("mbpp").sha256
    assert len({b.sha256 for b in sets.values()}) == 3


def test_eval_and_score_still_default_to_humaneval():
    from coderank.api import ScoreConfig
    from coderank.evaluation import EvalConfig

    assert EvalConfig().benchmark == "humaneval" and ScoreConfig(samples=Path("s.jsonl")).benchmark == "humaneval"


def test_the_few_shot_problems_are_not_offered(sets):
    ids = {p.task_id for p in _all(sets)}
    assert not ids & {f"MBPP/{i}" for i in range(1, 11)}


# --- entry points, tests, prompts --------------------------------------------------------------------------------


@pytest.mark.parametrize(("assertion", "defined", "expected"), [
    ('assert remove_Occ("hello","l") == "heo"', set(), "remove_Occ"),
    ("assert int(lobb_num(5, 3)) == 35", set(), "lobb_num"),
    ("assert math.isclose(area_circle(2), 12.56, rel_tol=0.001)", set(), "area_circle"),
    ("assert set(similar((3, 4), (4, 5))) == set((4,))", set(), "similar"),
    ("assert f([Pair(1, 2)], 1) == 1", set(), "f"),
    ("assert sum(10,15) == 6", {"sum"}, "sum"),
])
def test_the_entry_point_is_the_first_function_the_assert_calls(assertion, defined, expected):
    assert mbpp.entry_point_of(assertion, defined) == expected


def test_an_assert_that_calls_only_builtins_has_no_entry_point():
    with pytest.raises(ValueError, match="no function of its own"):
        mbpp.entry_point_of("assert sum(10,15) == 6")


def test_every_assert_calls_the_entry_point_and_the_reference_defines_it(sets, release):
    for p in _all(sets):
        row = release[p.metadata["mbpp_task_id"]]
        for assertion in row["test_list"]:
            called = {n.func.id for n in ast.walk(ast.parse(assertion)) if isinstance(n, ast.Call)
                      and isinstance(n.func, ast.Name)}
            assert p.entry_point in called, (p.task_id, assertion)
        top = {n.name for n in ast.parse(p.canonical_solution).body if isinstance(n, ast.FunctionDef)}
        assert p.entry_point in top, p.task_id


def test_the_tests_are_a_check_function_around_the_release_asserts(sets, release):
    for p in _all(sets):
        row = release[p.metadata["mbpp_task_id"]]
        tree = ast.parse(p.test)
        [check] = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        assert check.name == "check" and [a.arg for a in check.args.args] == ["candidate"]
        assert ast.unparse(check.body[0]) == f"{p.entry_point} = candidate"
        assert [ast.unparse(s) for s in check.body[1:]] == [ast.unparse(ast.parse(t)) for t in row["test_list"]]
        assert p.metadata["challenge_test_list"] == row["challenge_test_list"]
        if row["test_setup_code"].strip():
            assert row["test_setup_code"].replace("\r\n", "\n").strip() in p.test


def test_setup_code_and_the_imports_and_classes_the_tests_use_are_provided(sets):
    p367 = sets["mbpp"].problems["MBPP/367"]
    assert p367.test.index("root = Node(1)") < p367.test.index("def check(candidate):")
    assert p367.prompt.startswith("class Node:\n    def __init__(self, data):\n")  # tabs became spaces
    assert "import sys\n" in sets["mbpp-valid"].problems["MBPP/596"].test
    assert sets["mbpp-train"].problems["MBPP/601"].prompt.startswith("class Pair(object):\n")
    others = [p for p in _all(sets) if p.task_id not in ("MBPP/367", "MBPP/601", "MBPP/927")]
    assert all(p.prompt.startswith("def ") for p in others)


def test_every_prompt_is_the_reference_signature_with_the_task_and_first_assert(sets, release):
    for p in _all(sets):
        row = release[p.metadata["mbpp_task_id"]]
        tree = ast.parse(p.prompt)
        stub = tree.body[-1]
        assert isinstance(stub, ast.FunctionDef) and stub.name == p.entry_point, p.task_id
        doc = row["text"].strip() + "\n    " + row["test_list"][0].strip() + "\n    "
        assert ast.get_docstring(stub, clean=False) == doc, p.task_id
        assert len(stub.body) == 1 and p.prompt.endswith('    """\n'), p.task_id  # a base model writes the body
        ref = [n for n in ast.parse(p.canonical_solution).body if isinstance(n, ast.FunctionDef)
               and n.name == p.entry_point][-1]
        assert ast.unparse(stub.args) == ast.unparse(ref.args), p.task_id
        code = row["code"].replace("\r\n", "\n").replace("\r", "\n")
        assert p.canonical_solution == code.rstrip("\n") + "\n" and "\r" not in p.canonical_solution, p.task_id
        compile(p.program(p.canonical_solution), p.task_id, "exec")


def test_a_backslash_in_the_example_gives_a_raw_docstring(sets):
    p = sets["mbpp"].problems["MBPP/73"]
    assert '    r"""Write a function to split' in p.prompt and "'Forces of the \\ndarkness" in p.prompt


def test_chat_prompt_shows_the_stub_and_asks_for_the_function(sets):
    p = sets["mbpp"].problems["MBPP/11"]
    [message] = get_template("chat").render(p).messages
    assert message["role"] == "user"
    assert message["content"] == (
        "Finish the Python function `remove_Occ` below so that it does what its docstring says. Answer with the "
        "complete code — the given imports, helpers, signature and docstring included — in one ```python code "
        "block.\n\n```python\n"
        "def remove_Occ(s, ch):\n"
        '    """Write a python function to remove first and last occurrence of a given character from the string.\n'
        '    assert remove_Occ("hello","l") == "heo"\n'
        '    """\n```')


def test_completion_prompt_ends_where_the_body_starts(sets):
    p = sets["mbpp"].problems["MBPP/11"]
    rendered = get_template("completion").render(p)
    assert rendered.kind == "completion" and rendered.text == p.prompt
    assert rendered.text.endswith('"heo"\n    """\n')
    # A base model's continuation: the body, then more code the stop sequences or the extractor cut off.
    body = "    return s.replace(ch, '', 1)[::-1].replace(ch, '', 1)[::-1]\n"
    got = extract_program(p, body + "\n\nprint(remove_Occ('hello', 'l'))\n", "completion")
    assert got.method == "completion" and got.program.rstrip("\n") + "\n" == p.prompt + body


@pytest.fixture(scope="module")
def ex():
    with Executor(workers=2) as executor:
        yield executor


def test_answers_in_both_forms_pass_and_a_wrong_one_fails(sets, ex):
    p = sets["mbpp"].problems["MBPP/11"]
    body = "    return s.replace(ch, '', 1)[::-1].replace(ch, '', 1)[::-1]\n"
    chat = ("Here it is:\n\n```python\ndef remove_Occ(s, ch):\n" + body + "\n\nprint(remove_Occ('hello', 'l'))\n```")
    programs = {"completion": extract_program(p, body, "completion").program,
                "chat": extract_program(p, chat, "chat").program,
                "wrong": p.prompt + "    return s.replace(ch, '', 1)\n"}  # the first occurrence only
    verdicts = {job.key: v for job, v in ex.map(Job(k, p, prog) for k, prog in programs.items())}
    assert verdicts["completion"].passed and verdicts["chat"].passed
    assert verdicts["wrong"].status is Status.FAILED and "assert remove_Occ" in verdicts["wrong"].detail


# --- the reference check -----------------------------------------------------------------------------------------

SAMPLE = ["MBPP/11", "MBPP/56", "MBPP/73", "MBPP/126", "MBPP/367", "MBPP/533", "MBPP/596", "MBPP/601"]


def _reference_verdicts(ex, problems):
    jobs = [Job(p.task_id, p, p.program(p.canonical_solution)) for p in problems]
    return {job.key: v for job, v in ex.map(jobs)}


def test_references_of_special_cases_pass_or_fail_as_listed(sets, ex):
    # entry point named check (56) or like a builtin (126), a raw docstring (73), an import the asserts use
    # (596), and the listed failures: objects of the tests' classes (367, 601) and types as arguments (533)
    problems = {p.task_id: p for p in _all(sets)}
    verdicts = _reference_verdicts(ex, [problems[t] for t in SAMPLE])
    for task_id, verdict in verdicts.items():
        listed = mbpp.REFERENCE_FAILURES.get(task_id)
        if listed is None:
            assert verdict.passed, (task_id, verdict)
        else:
            assert verdict.status.value == listed[0], (task_id, verdict)
            assert problems[task_id].metadata["reference_fails"] == {"status": listed[0], "why": listed[1]}


@pytest.mark.slow
def test_every_reference_passes_its_tests_in_the_sandbox_except_those_listed(sets):
    # 964 programs, about 4 s on 2 cores. A generous CPU limit: MBPP/123's reference alone takes ~2.8 s of CPU
    # here, close to the default 3 s, and a slower machine must not turn it into a listed failure.
    with Executor(workers=2, limits=Limits(cpu_seconds=20)) as executor:
        verdicts = _reference_verdicts(executor, _all(sets))
    assert len(verdicts) == 964
    failed = {t: v.status.value for t, v in verdicts.items() if not v.passed}
    assert failed == {t: status for t, (status, _) in mbpp.REFERENCE_FAILURES.items()}, \
        {t: (v.status.value, v.detail) for t, v in verdicts.items() if not v.passed}
    in_test_split = [t for t in failed if 11 <= int(t.split("/")[1]) <= 510]
    assert in_test_split == ["MBPP/367"]


# --- the CLI -----------------------------------------------------------------------------------------------------


def test_score_with_benchmark_mbpp_passes_the_references(cli, tmp_path, sets):
    bench = sets["mbpp"]
    chosen = [bench.problems[t] for t in ("MBPP/11", "MBPP/12", "MBPP/13", "MBPP/126")]
    rows = [{"task_id": p.task_id, "completion": p.canonical_solution} for p in chosen]
    rows.append({"task_id": "MBPP/12", "completion": "    return M\n"})  # wrong: unsorted
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, stdout, stderr = cli("score", str(path), "-b", "mbpp", "--json", "--out", str(tmp_path / "res.jsonl"))
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["problems"] == 4 and doc["problems_in_benchmark"] == 500
    assert doc["status_counts"] == {"passed": 4, "failed": 1}
    results = [json.loads(line) for line in (tmp_path / "res.jsonl").read_text().splitlines()]
    assert {r["completion_id"]: r["passed"] for r in results if r["task_id"] == "MBPP/12"} == {0: True, 1: False}
    code, out, _ = cli("board", "--no-reported", "--json")
    assert code == 0 and list(json.loads(out)["boards"]) == ["mbpp"]


def test_contam_finds_an_mbpp_leak_against_the_split_it_belongs_to(cli, tmp_path, sets):
    leaks = {"MBPP/12": sets["mbpp"].problems["MBPP/12"], "MBPP/700": sets["mbpp-train"].problems["MBPP/700"]}
    rows = [{"instruction": "Write a function that returns the factorial of n.",
             "output": "def fact(n):\n    r = 1\n    for k in range(2, n + 1):\n        r *= k\n    return r\n"},
            {"instruction": "Reverse the words of a sentence.",
             "output": "def rev(s):\n    return ' '.join(reversed(s.split()))\n"}]
    rows += [{"instruction": p.metadata["text"], "output": p.canonical_solution} for p in leaks.values()]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # the "reverse the words" row's one-liner, ' '.join(reversed(s.split())), is MBPP/604's whole reference
    # (train split) up to names: the clone detector flags it against mbpp-train, as it would a copy
    for name, size, leaked, lines in (("mbpp", 500, ["MBPP/12"], [3]),
                                      ("mbpp-train", 374, ["MBPP/604", "MBPP/700"], [2, 4]),
                                      ("mbpp-valid", 90, [], [])):
        code, stdout, stderr = cli("contam", str(path), "-b", name, "--no-embeddings", "--json")
        assert code == 0, stderr
        doc = json.loads(stdout)
        assert doc["benchmark"] == name and doc["counts"]["items"] == size
        assert [i["task_id"] for i in doc["items"] if i["leaked"]] == leaked
        assert doc["flagged_lines"] == lines


def test_score_refuses_a_task_of_another_split(cli, tmp_path, sets):
    p = sets["mbpp-valid"].problems["MBPP/511"]
    path = tmp_path / "samples.jsonl"
    path.write_text(json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n")
    code, stdout, stderr = cli("score", str(path), "-b", "mbpp", "--json")
    assert code != 0 and "Traceback" not in stderr
    assert "unknown task_id" in stdout + stderr
