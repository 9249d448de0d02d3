"""IVR settings from the environment and the classic env file; Indonesian digits."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.prompts import load_catalog
from ivr.settings import ENV_FILE_NAME, IvrSettings, SettingsError, classic_settings
from ivr.speech import digit_prompts


def test_defaults_and_overrides() -> None:
    assert IvrSettings.from_env({}) == IvrSettings()
    assert IvrSettings().record_max_seconds == 180
    assert IvrSettings().callback_wait_seconds == 120
    settings = IvrSettings.from_env(
        {"LAPOR_IVR_NODE_ID": "21", "LAPOR_IVR_API_URL": "http://api:8000/"}
    )
    assert (settings.node_id, settings.api_url) == (21, "http://api:8000")


@pytest.mark.parametrize("node", ["5", "100", "x"])
def test_bad_node_ids_are_refused(node: str) -> None:
    with pytest.raises(SettingsError):
        IvrSettings.from_env({"LAPOR_IVR_NODE_ID": node})


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

    catalog = set(load_catalog())
    used = {
        value.removeprefix("lapor/")
        for module in (call, callback, common, complaint, status)
        for value in vars(module).values()
        if isinstance(value, str) and value.startswith("lapor/")
    }
    used |= {f"status-{s}" for s in status.STATUSES}
    assert used
    assert used <= catalog
