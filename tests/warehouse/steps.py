"""Step hooks the tests inject into the merge (:data:`common.warehouse.merge.StepHook`)."""

from __future__ import annotations

import os
import signal

from common.warehouse.merge import StepHook


class InjectedFailure(RuntimeError):
    """Raised on purpose inside the merge by :func:`fail_at`."""


def fail_at(step: str) -> StepHook:
    """A hook that raises :class:`InjectedFailure` once the merge reaches ``step``."""

    def hook(name: str) -> None:
        if name == step:
            raise InjectedFailure(f"failure injected at merge step {step!r}")

    return hook


def kill_at(step: str) -> StepHook:
    """A hook that SIGKILLs the process at ``step``: no handler, no cleanup (a crashed host)."""

    def hook(name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook
