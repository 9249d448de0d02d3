"""Crash-safe spool writes: the ticket counter and the outbox share this."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk, so a file just created or renamed in it keeps its
    name after a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
