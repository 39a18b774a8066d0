"""The typer app: every command of every command module, in the order ``coderank --help`` lists them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from coderank import __version__
from coderank.cli import _help, augment, compare, contam, distill, eval, evol, perturb, runs, score, train

app = typer.Typer(
    name="coderank",
    help="Build and judge code LLMs reproducibly: sandboxed execution, pass@k with intervals, honest comparisons.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_help.install()  # --help never cuts an option name (typer's tables would, at 80 columns)


def _print_version(value: bool) -> None:
    if value:
        print(f"coderank {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                   help="Print coderank's version and exit.")] = False) -> None:
    pass


# (name, function): the order is that of `coderank --help`.
COMMANDS: list[tuple[str, Callable[..., Any]]] = [
    ("score", score.score),
    ("doctor", score.doctor),
    ("eval", eval.eval_cmd),
    ("runs", runs.runs),
    ("show", runs.show),
    ("verify", eval.verify),
    ("export", eval.export),
    ("board", compare.board),
    ("duel", compare.duel),
    ("report", compare.report),
    ("distill", distill.distill_cmd),
    ("evol", evol.evol),
    ("contam", contam.contam),
    ("augment", augment.augment),
    ("perturb", perturb.perturb),
    ("perturb-gap", perturb.perturb_gap),
    ("rescore", eval.rescore),
    ("rename", runs.rename),
    ("rm", runs.rm),
    ("train", train.train),
]
for _name, _function in COMMANDS:
    app.command(_name)(_function)
