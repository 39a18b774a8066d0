"""Progress callbacks of the rigor detectors."""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(stage, done, total)``: called now and then while a stage runs.
ProgressFn = Callable[[str, int, int], None]


class Ticker:
    """Calls ``progress`` about every 1% of a stage, and at its end."""

    def __init__(self, progress: ProgressFn | None, stage: str, total: int) -> None:
        self.progress, self.stage, self.total = progress, stage, total
        self.step = max(1, total // 100)

    def __call__(self, done: int) -> None:
        if self.progress is not None and (done % self.step == 0 or done == self.total):
            self.progress(self.stage, done, self.total)
