"""The sandbox's plain-data encoding, as the rest of coderank may use it.

Values cross the trust boundary only as this encoding (see :mod:`coderank.execution._codec`, which the sandbox
also ships into its programs). Code outside ``coderank.execution`` that stores or compares such values (the
reference outcomes of EvalPlus files, augmented tests' inputs) imports them from here; the handles, sides and
remote objects the sandbox uses between a program and its tests stay private.
"""

from __future__ import annotations

import inspect

from coderank.execution._codec import CodecError, Opaque, decode, decode_node, encode, encode_node

__all__ = ["CodecError", "Opaque", "decode", "decode_node", "encode", "encode_node", "source"]

_SOURCE: list[str] = []


def source() -> str:
    """The codec's own source text, for a program that must decode and encode on the untrusted side."""
    if not _SOURCE:
        from coderank.execution import _codec

        _SOURCE.append(inspect.getsource(_codec))
    return _SOURCE[0]
