"""Files served from a folder (recordings, attachments), whatever name the database holds."""

from __future__ import annotations

from pathlib import Path


def stored_file(folder: Path, stored: str) -> Path | None:
    """The file in ``folder`` named like ``stored``'s last part, or None when there is none.

    Only the file name is taken from the stored path, and the result must stay in the
    folder: a stored ``../x`` or ``/etc/passwd`` finds nothing outside it.
    """
    folder = folder.resolve()
    name = Path(stored).name
    if not name or name in {".", ".."}:
        return None
    path = (folder / name).resolve()
    return path if path.parent == folder and path.is_file() else None
