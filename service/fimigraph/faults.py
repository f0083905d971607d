"""Crash points for the kill tests: ``FIMIGRAPH_CRASH_AT=<point>`` kills the process (SIGKILL) when a change reaches it.

A change passes, in order: ``reasoned`` (its inferences computed, the copies it will need made,
nothing of it written), ``committed`` (the store holds it, the need-to-know copies not yet),
``copy-written`` (after the first copy took it) and ``written`` (every copy took it, nothing
answered yet). ``tests/test_crash.py`` kills a real server at each and checks what the restart
finds. Unset (always, outside those tests), a point costs one comparison.
"""

from __future__ import annotations

import os
import signal

POINTS = ("reasoned", "committed", "copy-written", "written")
"""The crash points, in the order a change reaches them."""

_AT = os.environ.get("FIMIGRAPH_CRASH_AT")


def crash_point(name: str) -> None:
    """Die here, as a power cut would, if ``FIMIGRAPH_CRASH_AT`` names this point."""
    if name == _AT:
        os.kill(os.getpid(), signal.SIGKILL)
