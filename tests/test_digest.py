"""The one spelling of every stored hash: tagged sha256 and canonical JSON, pinned (a changed spelling would
change run ids and manifest hashes, and old stores would stop resuming)."""

import hashlib

from coderank import digest
from coderank.store import canonical_json, sha256_text


def test_the_spellings_are_pinned(tmp_path):
    assert digest.sha256_text("") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert digest.sha256_text("é") == digest.sha256_bytes("é".encode()) == \
        "sha256:" + hashlib.sha256(b"\xc3\xa9").hexdigest()
    assert digest.tagged("ab") == "sha256:ab" and digest.PREFIX == "sha256:"
    assert digest.canonical_json({"b": [1, "é"], "a": None}) == '{"a":null,"b":[1,"é"]}'
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 9000)  # more than one 1 MiB block
    assert digest.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest.sha256_file(path) == "sha256:" + digest.file_sha256(path)


def test_the_store_and_the_embedded_model_use_them():
    from coderank.models.embedded import file_sha256

    assert sha256_text is digest.sha256_text and canonical_json is digest.canonical_json
    assert file_sha256 is digest.file_sha256
