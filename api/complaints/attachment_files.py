"""Attachment files on disk: checked while they are copied, then put in place atomically.

An upload is first copied in chunks to a hidden temporary file in the attachments folder
(refused past the size limit, or when its first bytes are not JPEG, PNG, WebP or PDF:
the client's name and Content-Type are never trusted), fsynced, and only put in place
under its random, server-chosen name once the database row is about to be committed.
Putting in place is a hard link, which fails rather than overwrite an existing file.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from api.core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

# What may be attached, by media type, with the extension its stored file gets.
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}
MAX_NAME = 120
CHUNK = 64 << 10
TEMP_PREFIX = ".upload-"


def sniff(head: bytes) -> str | None:
    """The media type the file's first bytes show, if it is one we keep."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def clean_name(name: str | None) -> str:
    """The client's file name as shown and offered back: no folders, no control
    characters, no quotes, at most MAX_NAME characters (keeping a short extension)."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable() and ch not in "\"'<>:|?*;")
    base = base.strip(" .")
    if len(base) > MAX_NAME:
        stem, dot, extension = base.rpartition(".")
        extension = extension if dot and len(extension) <= 8 else ""
        keep = MAX_NAME - len(extension) - (1 if extension else 0)
        base = (stem if extension else base)[:keep] + (f".{extension}" if extension else "")
    return base or "lampiran"


@dataclass(frozen=True)
class Staged:
    """A checked upload waiting in its temporary file."""

    original_name: str
    stored_name: str
    media_type: str
    size: int
    sha256: str
    temp: Path


def stage(source: BinaryIO, name: str | None, folder: Path, max_bytes: int) -> Staged:
    """Copy ``source`` into a temporary file in ``folder``, checking its type and size;
    PayloadTooLarge, UnsupportedMediaType or InvalidInput (empty) leave nothing behind."""
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f"{TEMP_PREFIX}{secrets.token_hex(16)}"
    digest = hashlib.sha256()
    size = 0
    media_type: str | None = None
    try:
        with temp.open("xb") as out:
            while chunk := source.read(CHUNK):
                if media_type is None:
                    media_type = sniff(chunk)
                    if media_type is None:
                        raise UnsupportedMediaType(
                            "attachments must be JPEG, PNG or WebP images or PDF documents",
                            "unsupported_attachment_type",
                        )
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"an attachment may be at most {max_bytes} bytes", "attachment_too_large"
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if media_type is None:
            raise InvalidInput("an attachment is empty", "empty_attachment")
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    stored_name = secrets.token_hex(16) + EXTENSIONS[media_type]
    return Staged(clean_name(name), stored_name, media_type, size, digest.hexdigest(), temp)


def keep(staged: Staged, folder: Path) -> Path:
    """Put a staged file in place under its stored name (never over another file)."""
    final = folder / staged.stored_name
    os.link(staged.temp, final)
    staged.temp.unlink()
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return final


def discard(staged: list[Staged]) -> None:
    for one in staged:
        one.temp.unlink(missing_ok=True)
