"""coderank: build and judge code LLMs reproducibly."""

__version__ = "0.1.0"
