"""Every test gets its own coderank home (database) in a tmp dir; the model cache stays shared."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coderank.models.embedded import cache_dir

_MODEL_CACHE = str(cache_dir())


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("CODERANK_HOME", str(tmp_path / "coderank-home"))
    monkeypatch.setenv("CODERANK_MODEL_CACHE", os.environ.get("CODERANK_MODEL_CACHE", _MODEL_CACHE))


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run the coderank CLI in-process: ``code, stdout, stderr = cli("score", "f.jsonl", "--json")``."""
    from coderank.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr("sys.argv", ["coderank", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def chat_server():
    """Start minimal OpenAI-compatible chat servers (real sockets, for the real SDK): ``chat_server(answer)``
    returns the base URL of one whose reply to each request body is ``answer(body)``; all stop after the test.

    ``chat_server(answer, models=["m", {"id": "n", "root": "/w"}])`` also answers ``GET /v1/models`` with those
    entries (an id, or a whole entry); without ``models`` that request gets a 404, as from a server without it.
    """
    servers = []

    def start(answer, models=None):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                if models is None or self.path.rstrip("/") != "/v1/models":
                    self.send_error(404)
                    return
                data = json.dumps({"object": "list", "data": [
                    {"object": "model", "created": 0, "owned_by": "test", **({"id": m} if isinstance(m, str) else m)}
                    for m in models]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reply = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": answer(body)}}],
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
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield start
    for server in servers:
        server.shutdown()
