"""Several --base-url replicas: requests are spread over them, and the identity names them all.

Two minimal OpenAI-compatible HTTP servers (real sockets, the real SDK) count what they receive; the single
real-server path is tested against llama_cpp.server in tests/test_eval_embedded.py.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coderank.models.backends import BackendOptions, Request, load_backend

pytest.importorskip("openai")


def _server(name, hits):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            hits.append(body["messages"][-1]["content"])
            reply = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": f"{name}"}}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_requests_are_spread_over_replicas():
    hits_a, hits_b = [], []
    a, b = _server("A", hits_a), _server("B", hits_b)
    try:
        urls = [f"http://127.0.0.1:{s.server_address[1]}/v1" for s in (a, b)]
        backend = load_backend("openai:m", BackendOptions(base_url=",".join(urls), concurrency=2, max_retries=0))
        reqs = [Request("chat", None, (("user", f"q{i}"),), 8, 0.0, 1.0, (), i) for i in range(6)]
        answers = dict(backend.generate(reqs))
        backend.close()
    finally:
        a.shutdown()
        b.shutdown()
    assert len(hits_a) == 3 and len(hits_b) == 3
    assert sorted(hits_a + hits_b) == [f"q{i}" for i in range(6)]
    assert {answers[i].text for i in range(6)} == {"A", "B"}
    assert backend.identity()["base_url"] == sorted(urls)
    single = load_backend("openai:m", BackendOptions(base_url=urls[0]))
    assert single.identity()["base_url"] == urls[0]  # one URL: the identity (and cache keys) as before
