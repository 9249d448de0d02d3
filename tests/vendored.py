"""The vendored front-end files and what their VENDORED.md records about each.

A VENDORED.md has one ``## <file name>`` section per file, with ``- Key: value`` lines
(Package, Version, Tarball, Integrity, sha256, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTMX_DIR = ROOT / "api" / "web" / "static" / "vendor"
AXE_DIR = ROOT / "tests" / "browser" / "vendor"
VENDOR_DIRS = (HTMX_DIR, AXE_DIR)

_SECTION = re.compile(r"^## (.+?)\s*$", re.MULTILINE)
_FIELD = re.compile(r"^- ([A-Za-z][\w ]*): (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class VendoredFile:
    path: Path
    fields: dict[str, str]

    @property
    def version(self) -> str:
        return self.fields["Version"]

    @property
    def sha256(self) -> str:
        return self.fields["sha256"]


def read_manifest(folder: Path) -> dict[str, VendoredFile]:
    """The files ``folder/VENDORED.md`` records, by file name (sections named like a file)."""
    text = (folder / "VENDORED.md").read_text(encoding="utf-8")
    parts = _SECTION.split(text)[1:]
    files: dict[str, VendoredFile] = {}
    for name, body in zip(parts[::2], parts[1::2], strict=True):
        if "." not in name or " " in name:
            continue  # a section such as "How to update", not a file
        fields = dict(_FIELD.findall(body))
        files[name] = VendoredFile(folder / name, fields)
    return files
