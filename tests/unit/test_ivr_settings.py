"""IVR settings from the environment and the classic env file; Indonesian digits."""

from __future__ import annotations

from pathlib import Path

import pytest

from agi_scripts.complaint import CATEGORIES
from ivr.access import PeerAccess, parse_networks
from ivr.fastagi import FastAGILimits
from ivr.prompt_synthesis import load_catalog
from ivr.settings import (
    CATEGORY_NAMES,
    ENV_FILE_NAME,
    FastAGISettings,
    IvrSettings,
    SettingsError,
    classic_settings,
)
from ivr.sound_names import digit_prompts


def test_defaults_and_overrides() -> None:
    assert IvrSettings.from_env({}) == IvrSettings()
    assert IvrSettings().record_max_seconds == 180
    assert IvrSettings().callback_wait_seconds == 120
    settings = IvrSettings.from_env(
        {"LAPOR_IVR_NODE_ID": "21", "LAPOR_IVR_API_URL": "http://api:8000/"}
    )
    assert (settings.node_id, settings.api_url) == (21, "http://api:8000")


def test_urgent_categories_default_to_darurat_and_are_checked() -> None:
    assert IvrSettings().urgent_categories == {"darurat"}
    assert set(CATEGORIES.values()) == CATEGORY_NAMES
    settings = IvrSettings.from_env({"LAPOR_IVR_URGENT_CATEGORIES": " Darurat, infrastruktur "})
    assert settings.urgent_categories == {"darurat", "infrastruktur"}
    assert IvrSettings.from_env(settings.as_env()) == settings
    with pytest.raises(SettingsError, match="no category banjir"):
        IvrSettings.from_env({"LAPOR_IVR_URGENT_CATEGORIES": "darurat,banjir"})


@pytest.mark.parametrize("node", ["5", "100", "x"])
def test_bad_node_ids_are_refused(node: str) -> None:
    with pytest.raises(SettingsError):
        IvrSettings.from_env({"LAPOR_IVR_NODE_ID": node})


def test_fastagi_defaults_are_loopback_and_sized_for_one_node() -> None:
    settings = FastAGISettings.from_env({})
    assert settings == FastAGISettings()
    assert (settings.host, settings.port) == ("127.0.0.1", 4573)
    assert settings.limits == FastAGILimits()
    assert settings.limits.max_sessions == 300
    assert (settings.limits.header_timeout, settings.limits.reply_timeout) == (5.0, 60.0)
    assert settings.limits.max_line_bytes == 8192
    assert settings.access == PeerAccess(parse_networks("127.0.0.0/8 ::1"))
    # The reply window is the command's own duration plus the margin.
    assert settings.limits.reply_window("ANSWER") == 60
    assert settings.limits.reply_window("RECORD FILE /r/1 wav # 180000 BEEP s=6") == 240
    assert settings.limits.reply_window("GET DATA lapor/menu-utama 5000 1") == 65


def test_fastagi_settings_from_the_environment(tmp_path: Path) -> None:
    secret_file = tmp_path / "agi_secret"
    secret_file.write_text("from-a-file-0123456789\n")
    settings = FastAGISettings.from_env(
        {
            "LAPOR_AGI_HOST": "0.0.0.0",
            "LAPOR_AGI_PORT": "4600",
            "LAPOR_AGI_SECRET_FILE": str(secret_file),
            "LAPOR_IVR_ALLOWED_PEERS": "172.30.0.0/24",
            "LAPOR_IVR_MAX_SESSIONS": "50",
            "LAPOR_IVR_HEADER_TIMEOUT": "2.5",
            "LAPOR_IVR_REPLY_TIMEOUT": "90",
        }
    )
    assert (settings.host, settings.port) == ("0.0.0.0", 4600)
    assert settings.access == PeerAccess(parse_networks("172.30.0.0/24"), "from-a-file-0123456789")
    assert settings.limits == FastAGILimits(max_sessions=50, header_timeout=2.5, reply_timeout=90)
    # Bound beyond loopback without a list: loopback and the private ranges.
    wide = FastAGISettings.from_env({"LAPOR_AGI_HOST": "0.0.0.0", "LAPOR_AGI_SECRET": "x" * 16})
    assert wide.access.address_allowed(("172.30.0.5", 1))
    assert not wide.access.address_allowed(("203.0.113.5", 1))
    assert wide.access.secret == "x" * 16


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LAPOR_IVR_MAX_SESSIONS", "0"),
        ("LAPOR_IVR_MAX_SESSIONS", "lots"),
        ("LAPOR_IVR_HEADER_TIMEOUT", "-1"),
        ("LAPOR_IVR_REPLY_TIMEOUT", "inf"),
        ("LAPOR_IVR_REPLY_TIMEOUT", "nan"),
        ("LAPOR_IVR_ALLOWED_PEERS", "everyone"),
        ("LAPOR_AGI_PORT", "http"),
        ("LAPOR_AGI_SECRET", "too short"),
        ("LAPOR_AGI_SECRET_FILE", "/nonexistent/agi_secret"),
    ],
)
def test_bad_fastagi_settings_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        FastAGISettings.from_env({name: value})
    if name == "LAPOR_AGI_SECRET":
        assert value not in str(caught.value)


def test_classic_scripts_read_the_env_file_in_asterisks_config_dir(tmp_path: Path) -> None:
    wanted = IvrSettings(api_token="t0k3n", node_id=33, spool_dir=tmp_path / "spool")
    (tmp_path / ENV_FILE_NAME).write_text(
        "# written by the deployment\n" + "".join(f"{k}={v}\n" for k, v in wanted.as_env().items())
    )
    assert classic_settings({"AST_CONFIG_DIR": str(tmp_path)}) == wanted
    # The process environment wins over the file.
    env = {"AST_CONFIG_DIR": str(tmp_path), "LAPOR_IVR_NODE_ID": "44"}
    assert classic_settings(env).node_id == 44


def test_digits_are_read_with_indonesian_prompts_from_the_catalog() -> None:
    assert digit_prompts("1090") == [
        "lapor/angka-1",
        "lapor/angka-0",
        "lapor/angka-9",
        "lapor/angka-0",
    ]
    catalog = load_catalog()
    words = [catalog[f"angka-{d}"] for d in "0123456789"]
    assert words[:3] == ["nol", "satu", "dua"]
    with pytest.raises(ValueError, match="digit"):
        digit_prompts("12a")


def test_every_prompt_the_handlers_play_is_in_the_catalog() -> None:
    import agi_scripts.call as call
    import agi_scripts.callback as callback
    import agi_scripts.common as common
    import agi_scripts.complaint as complaint
    import agi_scripts.status as status
    import agi_scripts.survey as survey

    catalog = set(load_catalog())
    used = {
        value.removeprefix("lapor/")
        for module in (call, callback, common, complaint, status, survey)
        for value in vars(module).values()
        if isinstance(value, str) and value.startswith("lapor/")
    }
    used |= {f"status-{s}" for s in status.STATUSES}
    assert used
    assert used <= catalog
