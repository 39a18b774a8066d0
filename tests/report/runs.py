"""Synthetic stored runs for the comparison tests."""

from coderank.evaluation import run_summary


def _manifest(template="chat", temperature=0.0, problems=3, bench_sha="sha256:b", of=None):
    return {"version": 1, "model_spec": "m", "benchmark": {"name": "humaneval", "sha256": bench_sha,
                                                           "problems": problems, "of": of or problems},
            "template": {"name": template, "sha256": f"sha256:{template}"},
            "params": {"temperature": temperature, "top_p": 1.0, "max_tokens": 512}, "seed": 0, "n": 1}


def make_run(store, model, passed, n=1, **setting):
    """A finished run of ``model`` on problems HumanEval/0.. (``passed``: samples passed of n per problem).

    The benchmark has as many problems as ``passed`` unless ``of=`` says more (a partial run).
    """
    manifest = _manifest(problems=len(passed), **setting)
    manifest["n"] = n
    run_id, _ = store.open_run({"model": model, **manifest}, manifest, kind="eval", model=model,
                               benchmark="humaneval")
    for i, ok in enumerate(passed):  # ok: samples passed of n
        for j in range(n):
            store.put_sample(run_id, f"HumanEval/{i}", j, completion_key=None, program="x", extraction={},
                             status="passed" if j < ok else "failed", detail="", cpu_seconds=0, wall_seconds=0,
                             output="", truncated=False)
    store.finish_run(run_id, run_summary(store, run_id))
    return run_id
