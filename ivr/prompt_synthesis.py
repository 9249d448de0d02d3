"""The prompt catalog and its synthesis to 8 kHz audio with espeak-ng and sox.

Synthesized files are cached by a hash of voice and text, so only changed prompts are
made again. A file in the studio folder with a prompt's name (``<name>.wav``, or
``digits/<number>.wav`` for a number word) is installed instead of the synthesized one.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

CATALOG = Path(__file__).resolve().parent / "catalog" / "prompts.id.toml"
VOICE = "id"
# Catalog table -> its folder in the language's sound folder (sounds/id/<folder>/<key>):
# our prompts, and the number words Asterisk's own number reading looks for.
FOLDERS = {"prompts": "lapor", "numbers": "digits"}
# Asterisk plays 8 kHz, 16-bit, mono signed-linear WAV without transcoding.
SOX_FORMAT = ("-r", "8000", "-c", "1", "-b", "16")


class PromptError(RuntimeError):
    """The catalog is malformed or a tool needed to synthesize prompts is missing."""


def load_catalog(path: Path = CATALOG, table: str = "prompts") -> dict[str, str]:
    """Prompt name -> text, from one table of the catalog file."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    prompts = data.get(table)
    if not isinstance(prompts, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in prompts.items()
    ):
        raise PromptError(f'{path}: expected a [{table}] table of name = "text"')
    return dict(prompts)


def cache_key(text: str) -> str:
    return hashlib.sha256(f"{VOICE}\n{text}".encode()).hexdigest()[:20]


def synthesize(text: str, target: Path) -> None:
    """Speak ``text`` with espeak-ng's Indonesian voice into an 8 kHz WAV at ``target``."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise PromptError(f"{tool} is needed to make prompts (apt-get install {tool})")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", VOICE, "-w", str(raw), text], check=True)
        subprocess.run(["sox", str(raw), *SOX_FORMAT, str(target)], check=True)


def build_prompts(
    cache_dir: Path, catalog: Path = CATALOG, table: str = "prompts"
) -> dict[str, Path]:
    """Synthesize every prompt of ``table`` not yet cached; return name -> cached WAV."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    built = {}
    for name, text in load_catalog(catalog, table).items():
        target = cache_dir / f"{cache_key(text)}.wav"
        if not target.exists():
            partial = target.with_suffix(".part.wav")
            synthesize(text, partial)
            partial.rename(target)
        built[name] = target
    return built


def install_prompts(
    built: dict[str, Path], sounds_dir: Path, studio_dir: Path | None = None
) -> None:
    """Copy prompts to ``sounds_dir/<name>.wav``, preferring studio recordings."""
    sounds_dir.mkdir(parents=True, exist_ok=True)
    for name, synthesized in built.items():
        studio = studio_dir / f"{name}.wav" if studio_dir else None
        source = studio if studio is not None and studio.exists() else synthesized
        shutil.copyfile(source, sounds_dir / f"{name}.wav")


def install_catalog(
    cache_dir: Path, language_dir: Path, studio_dir: Path | None = None, catalog: Path = CATALOG
) -> None:
    """Synthesize (cached) and install every table of the catalog into its folder of
    ``language_dir`` (Asterisk's ``sounds/id``): ``lapor/`` and ``digits/``."""
    for table, folder in FOLDERS.items():
        # Studio recordings: prompts/studio/<name>.wav, prompts/studio/digits/<number>.wav.
        studio = studio_dir
        if studio is not None and table != "prompts":
            studio = studio / folder
        install_prompts(build_prompts(cache_dir, catalog, table), language_dir / folder, studio)
