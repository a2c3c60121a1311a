"""Progress reporting that works with a rich `Progress`, a plain callback, or nothing.

The CLI passes a `rich.progress.Progress` (bars in the terminal); tests and scripts
may pass `callback(stage, done, total)` or nothing at all.
"""


class Stages:
    def __init__(self, target=None):
        self.target = target

    def stage(self, description: str, total: int):
        """Start a stage; return `advance(n)` to report n more units done."""
        target = self.target
        if target is None:
            return lambda n=1: None
        if hasattr(target, "add_task"):
            task = target.add_task(description, total=max(total, 1))
            return lambda n=1: target.advance(task, n)
        done = 0

        def advance(n=1):
            nonlocal done
            done += n
            target(description, done, total)
        return advance
