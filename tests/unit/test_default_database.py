"""Without LAPOR_API_DATABASE_URL, every process opens the same SQLite file, whatever
folder it runs from (a ``lapor`` command run elsewhere once made a second database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from api.core.settings import CODE_ROOT, default_data_dir

PRINT_URL = "from api.core.settings import ApiSettings; print(ApiSettings().database_url)"


def url_seen_from(cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "LAPOR_API_DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-c", PRINT_URL], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_every_current_directory_reaches_the_checkouts_database(tmp_path: Path) -> None:
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    urls = {url_seen_from(CODE_ROOT), url_seen_from(tmp_path), url_seen_from(elsewhere)}
    assert urls == {f"sqlite:///{CODE_ROOT / 'var' / 'lapor.db'}"}  # make run's database
    assert list(tmp_path.rglob("*.db")) == []


def test_a_checkout_keeps_it_in_var(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    assert default_data_dir(tmp_path, {}) == tmp_path / "var"


def test_an_installed_package_uses_the_users_data_folder(tmp_path: Path) -> None:
    site_packages = tmp_path / "site-packages"  # no pyproject.toml next to the code
    site_packages.mkdir()
    data = tmp_path / "data"
    assert default_data_dir(site_packages, {"XDG_DATA_HOME": str(data)}) == data / "lapor"
    assert default_data_dir(site_packages, {}) == Path.home() / ".local/share/lapor"
