"""Vendored front-end files are the ones their VENDORED.md records, byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.vendored import AXE_DIR, HTMX_DIR, VENDOR_DIRS, read_manifest

FIELDS = ("Package", "Version", "Tarball", "Integrity", "sha256", "Licence")


@pytest.mark.parametrize("folder", VENDOR_DIRS, ids=lambda folder: folder.parent.parent.name)
def test_every_vendored_file_matches_its_recorded_sha256(folder: Path) -> None:
    files = read_manifest(folder)
    assert files, f"{folder / 'VENDORED.md'} records no file"
    for name, entry in files.items():
        assert set(FIELDS) <= entry.fields.keys(), f"{name}: missing {FIELDS}"
        digest = hashlib.sha256(entry.path.read_bytes()).hexdigest()
        assert digest == entry.sha256, f"{entry.path} was changed after it was vendored"


@pytest.mark.parametrize("folder", VENDOR_DIRS, ids=lambda folder: folder.parent.parent.name)
def test_every_file_in_a_vendor_folder_is_recorded_or_a_licence(folder: Path) -> None:
    files = read_manifest(folder)
    for path in folder.iterdir():
        assert path.name in files or "LICENSE" in path.name or path.name == "VENDORED.md", path


@pytest.mark.parametrize(
    ("folder", "name", "marker"),
    [
        (HTMX_DIR, "htmx.min.js", 'version:"{version}"'),
        (AXE_DIR, "axe.min.js", "/*! axe v{version}"),
    ],
    ids=["htmx", "axe"],
)
def test_the_recorded_version_is_the_one_in_the_file(folder: Path, name: str, marker: str) -> None:
    entry = read_manifest(folder)[name]
    assert entry.fields["Tarball"].endswith(f"-{entry.version}.tgz")
    assert marker.format(version=entry.version) in entry.path.read_text(encoding="utf-8")


@pytest.mark.parametrize("folder", VENDOR_DIRS, ids=lambda folder: folder.parent.parent.name)
def test_each_licence_named_in_the_manifest_is_next_to_its_file(folder: Path) -> None:
    for entry in read_manifest(folder).values():
        licence_file = entry.fields["Licence"].split("`")[1]
        assert (folder / licence_file).stat().st_size > 0
