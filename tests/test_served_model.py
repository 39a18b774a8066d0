"""`--served-model`: runs against replicas are named by what they serve, not where they are.

Real minimal OpenAI-compatible servers (tests/conftest.py ``chat_server``, real sockets, the real SDK) count the
chat requests they get, so "served from the cache" is checked as zero requests, not as a flag in the summary.
"""

import json

import pytest

pytest.importorskip("openai")

EVAL = ("eval", "-m", "openai:m", "-b", "classic", "--json", "--served-model", "Qwen/Qwen2.5-Coder-0.5B@r1")


def _server(chat_server, hits, models=("m",), fail=False):
    def answer(body):
        hits.append(body["messages"][-1]["content"])
        if fail:
            raise ConnectionAbortedError("this replica breaks")  # the connection closes without an answer
        return "```python\ndef f():\n    return 0\n```"

    return chat_server(answer, models=list(models))


def test_two_replicas_one_replica_and_another_port_are_one_run_with_one_cache(cli, chat_server):
    a, b, c = [], [], []
    url_a, url_b, url_c = _server(chat_server, a), _server(chat_server, b), _server(chat_server, c)
    code, out, err = cli(*EVAL, "--base-url", f"{url_a},{url_b}", "--limit", "3")
    assert code == 0, err
    first = json.loads(out)
    assert first["generated"] == 3 and len(a) + len(b) == 3 and a and b
    manifest = first["manifest"]
    assert manifest["model"] == {"backend": "openai-compatible", "model": "m",
                                 "served_model": "Qwen/Qwen2.5-Coder-0.5B@r1"}
    assert manifest["servers"] == sorted([url_a, url_b])  # where it ran: in the manifest, not in the run id

    # the same model on one replica on another port: the same run, nothing asked
    code, out, err = cli(*EVAL, "--base-url", url_c, "--limit", "3")
    assert code == 0, err
    again = json.loads(out)
    assert again["run_id"] == first["run_id"] and again["already_finished"] and c == []

    # a larger run there: another run id, but the three answers come from the cache; only the new one is asked
    code, out, err = cli(*EVAL, "--base-url", url_c, "--limit", "4")
    assert code == 0, err
    bigger = json.loads(out)
    assert bigger["run_id"] != first["run_id"]
    assert (bigger["cached"], bigger["generated"], len(c)) == (3, 1, 1)
    assert bigger["manifest"]["servers"] == [url_c]

    # without the option the URLs are the identity, as before: another run, and nothing from the cache
    code, out, err = cli(*[x for x in EVAL if x not in ("--served-model", "Qwen/Qwen2.5-Coder-0.5B@r1")],
                         "--base-url", url_c, "--limit", "3")
    assert code == 0, err
    plain = json.loads(out)
    assert plain["run_id"] != first["run_id"] and plain["generated"] == 3 and len(c) == 4
    assert plain["manifest"]["model"]["base_url"] == url_c and "servers" not in plain["manifest"]


def test_a_run_stopped_on_one_set_of_servers_resumes_on_another(cli, chat_server):
    a, b, c = [], [], []
    url_a, url_b = _server(chat_server, a), _server(chat_server, b, fail=True)
    code, _, err = cli(*EVAL, "--base-url", f"{url_a},{url_b}", "--limit", "3", "--concurrency", "1",
                       "--max-retries", "0")
    assert code != 0 and "failed after retries" in err
    assert (len(a), len(b)) == (1, 1)  # request 0 answered by A, request 1 broke B
    code, out, _ = cli("runs", "--json")
    [failed] = json.loads(out)
    assert failed["status"] == "failed"

    url_c = _server(chat_server, c)  # the model moved to another server
    code, out, err = cli(*EVAL, "--base-url", url_c, "--limit", "3")
    assert code == 0, err
    resumed = json.loads(out)
    assert resumed["run_id"] == failed["run_id"] and resumed["resumed"]
    assert (resumed["cached"], resumed["generated"], len(c)) == (1, 2, 2)
    assert resumed["manifest"]["servers"] == sorted([url_a, url_b, url_c])  # every server the run used


def _write_problems(tmp_path):
    path = tmp_path / "problems.jsonl"
    check = "def check(candidate):\n    assert candidate(1, 2) == 3\n"
    path.write_text(json.dumps({"task_id": "t/add", "prompt": "def add(a, b):\n    \"\"\"Return a + b.\"\"\"\n",
                                "entry_point": "add", "test": check}) + "\n")
    return path


def _write_instructions(tmp_path):
    path = tmp_path / "instructions.jsonl"
    path.write_text(json.dumps({"id": "i-1", "instruction": "Write add(a, b) that returns a + b."}) + "\n")
    return path


@pytest.mark.parametrize("command", ["eval", "evol", "distill", "distill-selftest", "perturb"])
def test_every_command_with_base_url_checks_the_replicas_before_a_run(cli, chat_server, tmp_path, command):
    hits = []
    good, odd = _server(chat_server, hits), _server(chat_server, hits, models=("other",))
    servers = ("-m", "openai:m", "--base-url", f"{good},{odd}", "--served-model", "w")
    out_file = str(tmp_path / "out.jsonl")
    args = {
        "eval": ("eval", *servers, "-b", "classic", "--limit", "1"),
        "evol": ("evol", *servers, "--limit", "1", "--rounds", "1", "--no-decontam", "-o", out_file),
        "distill": ("distill", *servers, "-b", str(_write_problems(tmp_path)), "-k", "1", "--no-decontam",
                    "-o", out_file),
        "distill-selftest": ("distill", *servers, "--instructions", str(_write_instructions(tmp_path)), "-k", "1",
                             "--no-decontam", "-o", out_file),
        "perturb": ("perturb", "classic", "--kinds", "paraphrase", *servers, "-o", out_file),
    }[command]
    code, _, err = cli(*args)
    assert code != 0
    assert f"{odd} serves 'other', where {good} serves 'm'" in err
    assert hits == [] and json.loads(cli("runs", "--json")[1]) == []  # nothing asked, no run recorded


def test_distill_and_evol_name_the_servers_beside_the_model(chat_server, tmp_path):
    from coderank.distill import DistillConfig, distill
    from coderank.evol.evolution import EvolConfig, evolve
    from coderank.models.backends import BackendOptions

    a, b = [], []
    urls = sorted([_server(chat_server, a), _server(chat_server, b)])
    options = BackendOptions(base_url=",".join(urls), served_model="w")
    identity = {"backend": "openai-compatible", "model": "m", "served_model": "w"}

    distill(DistillConfig(out=tmp_path / "verified.jsonl", benchmark=str(_write_problems(tmp_path)), model="openai:m",
                          k=2, decontam=(), backend=options))
    teacher = json.loads((tmp_path / "verified.manifest.json").read_text())["teacher"]
    assert teacher["identity"] == identity and teacher["servers"] == urls
    distill(DistillConfig(out=tmp_path / "self.jsonl", instructions=_write_instructions(tmp_path), model="openai:m",
                          k=2, decontam=(), backend=options))  # self-written tests: a selftest run, not an eval
    teacher = json.loads((tmp_path / "self.manifest.json").read_text())["teacher"]
    assert teacher["identity"] == identity and teacher["servers"] == urls

    evolve(EvolConfig(out=tmp_path / "evol.jsonl", model="openai:m", limit=1, rounds=1, decontam=(), backend=options))
    manifest = json.loads((tmp_path / "evol.manifest.json").read_text())
    assert manifest["model"] == identity and manifest["servers"] == urls
    assert a and b  # both replicas answered


def test_the_manifest_adds_the_servers_of_each_call_and_a_rescore_keeps_them():
    from coderank.record import BenchmarkRef, RunManifest, TemplateRef

    def create(servers):
        return RunManifest.create(model_spec="openai:m", model={"served_model": "w"}, benchmark=BenchmarkRef(),
                                  template=TemplateRef(), params={}, seed=0, n=1, sandbox_limits={}, servers=servers)

    assert "servers" not in create(None).to_dict()  # runs without --served-model: manifests as before
    first = create(["http://a/v1", "http://b/v1"])
    assert first.finished({}, {}, ["http://b/v1"]) == first  # the same servers again: nothing to add
    moved = first.finished({}, {}, ["http://c/v1", "http://a/v1"])
    assert moved.servers == ["http://a/v1", "http://b/v1", "http://c/v1"]
    assert RunManifest.from_dict(moved.to_dict()).servers == moved.servers
    assert moved.rescored("run-x", {}).servers == moved.servers  # the answers still came from those servers
