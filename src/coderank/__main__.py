"""``python -m coderank``: the same as the ``coderank`` command."""

from coderank.cli import main

main()
