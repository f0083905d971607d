"""Compaction of a store that stays open: after every so many changes, off the write lock.

Every change leaves deletion markers on disk (a retracted source, an inference that lost its
support, the change's own scratch graphs) that each later lookup steps over until the store is
compacted: at 1M triples the median add went from 0.45 to 0.55–0.65 s within about 60 changes,
and a compaction (35 s) brought it to 0.41 s (bench/RESULTS.md, "What moves the numbers"). A rebuild
compacts at its end; a server that only adds and retracts would never compact. RocksDB compacts
alongside reads and writes, so a server does it between requests without stopping either.

The store counts its changes itself (``fimi:changesSinceCompaction``), so the count survives a
restart and includes the command line's changes.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any

from .errors import StoreError
from .store import GraphStore

log = logging.getLogger("fimigraph.compaction")


def due(store: GraphStore, *, after: int) -> bool:
    """Whether ``store`` made ``after`` changes or more since its last compaction (never if ``after`` is 0)."""
    return after > 0 and store.changes_since_compaction() >= after


class Compactor:
    """Compacts a store once its count of changes (see :meth:`GraphStore.note_change`) reaches ``after`` (never if 0), one compaction at a time."""

    def __init__(self, store: GraphStore, *, after: int) -> None:
        self.store = store
        self.after = after
        self._lock = threading.Lock()  # guards this process's record of its compactions
        self._running = threading.Lock()  # held while compacting
        self._count = 0
        self._last: dict[str, Any] | None = None

    def due(self) -> bool:
        """Whether the store has made enough changes since its last compaction to compact it now."""
        return due(self.store, after=self.after)

    def compact_if_due(self) -> bool:
        """Compact if :meth:`due` (and none is running); for after a change's response, since it reads the store."""
        return self.due() and self.compact()

    def compact(self) -> bool:
        """Compact now unless a compaction is running already (then False); failures are logged, not raised."""
        if not self._running.acquire(blocking=False):
            return False
        try:
            started, at = time.perf_counter(), datetime.now(timezone.utc).replace(microsecond=0).isoformat()
            try:
                changes = self.store.optimize()
            except StoreError:
                # A request already answered cannot be told; the count stays, so the next change tries again.
                log.exception("compacting the store failed")
                return False
            with self._lock:
                self._count += 1
                self._last = {"at": at, "seconds": round(time.perf_counter() - started, 3), "changes": changes}
            return True
        finally:
            self._running.release()

    def status(self) -> dict[str, Any]:
        """For /health: the policy, changes since the last compaction, whether one runs, and this process's last one."""
        changes = self.store.changes_since_compaction()
        with self._lock:
            return {"after_changes": self.after, "changes_since": changes, "running": self._running.locked(),
                    "count": self._count, "last": self._last}
