"""What a waiting caller hears: the settings rendered into queues.conf and the dialplan,
and the prompts and number words those lines name, in the catalog and installed where
Asterisk looks for them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ivr.prompt_synthesis as synthesis
from asterisk_conf.render import (
    DERIVED,
    RenderError,
    agi_backup,
    queue_announcements,
    render_dir,
)
from ivr.prompt_synthesis import install_catalog, load_catalog

CONF_DIR = Path(__file__).resolve().parents[2] / "asterisk_conf"
SECRETS = {
    "LAPOR_AMI_COLLECTOR_SECRET": "collector-pw-0123456789",
    "LAPOR_AMI_CONTROL_SECRET": "control-pw-0123456789",
}


def rendered(tmp_path: Path, **settings: str) -> tuple[str, str]:
    """queues.conf and extensions.conf rendered with ``LAPOR_<name>`` settings."""
    env = {**SECRETS, **{f"LAPOR_{name}": value for name, value in settings.items()}}
    render_dir(CONF_DIR, tmp_path, env, ["queues.conf", "extensions.conf"])
    return (tmp_path / "queues.conf").read_text(), (tmp_path / "extensions.conf").read_text()


def setting(text: str, name: str) -> str:
    found = re.search(rf"^{re.escape(name)} = (.*)$", text, re.MULTILINE)
    assert found, name
    assert len(re.findall(rf"^{re.escape(name)} = ", text, re.MULTILINE)) == 1, name
    return found.group(1)


def test_defaults_announce_position_every_minute_and_no_hold_time(tmp_path: Path) -> None:
    queues, dialplan = rendered(tmp_path)
    assert setting(queues, "announce-position") == "more"
    assert setting(queues, "announce-position-limit") == "10"
    assert setting(queues, "announce-frequency") == "60"
    assert setting(queues, "min-announce-frequency") == "30"
    # app_queue's own hold time has no cap and no "soon": the dialplan says the wait.
    assert setting(queues, "announce-holdtime") == "no"
    assert setting(queues, "announce-to-first-user") == "no"
    assert setting(dialplan, "QUEUE_WAIT_SOON") == "90"
    assert setting(dialplan, "QUEUE_WAIT_CAP") == "15"


@pytest.mark.parametrize(
    ("seconds", "frequency", "gap"),
    [("0", "86400", "86400"), ("10", "10", "10"), ("45", "45", "30"), ("300", "300", "30")],
)
def test_announce_seconds_become_app_queues_frequencies(
    tmp_path: Path, seconds: str, frequency: str, gap: str
) -> None:
    queues, _ = rendered(tmp_path, QUEUE_ANNOUNCE_SECONDS=seconds)
    assert setting(queues, "announce-frequency") == frequency
    assert setting(queues, "min-announce-frequency") == gap


def test_wait_settings_reach_the_dialplan(tmp_path: Path) -> None:
    _, dialplan = rendered(tmp_path, QUEUE_WAIT_SOON_SECONDS="45", QUEUE_WAIT_CAP_MINUTES="30")
    assert setting(dialplan, "QUEUE_WAIT_SOON") == "45"
    assert setting(dialplan, "QUEUE_WAIT_CAP") == "30"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("QUEUE_ANNOUNCE_SECONDS", "-1"),
        ("QUEUE_ANNOUNCE_SECONDS", "1m"),
        ("QUEUE_ANNOUNCE_SECONDS", ""),
        ("QUEUE_WAIT_SOON_SECONDS", "1.5"),
        ("QUEUE_WAIT_CAP_MINUTES", "0"),
        ("QUEUE_WAIT_CAP_MINUTES", "100"),
        ("QUEUE_WAIT_CAP_MINUTES", "٣"),
    ],
)
def test_a_setting_that_is_not_a_usable_whole_number_is_refused(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(RenderError, match=f"LAPOR_{name} must be a whole number"):
        rendered(tmp_path, **{name: value})


def test_derived_values_are_the_ones_render_fills() -> None:
    values = {
        "QUEUE_ANNOUNCE_SECONDS": "60",
        "QUEUE_WAIT_SOON_SECONDS": "90",
        "QUEUE_WAIT_CAP_MINUTES": "15",
    }
    assert set(queue_announcements(values)) | set(agi_backup(values)) == DERIVED
    assert queue_announcements({}) == {}


def number_files(number: int) -> list[str]:
    """The digits/ files Asterisk's default (English-structured) rules read for 0-99,
    which it uses for language "id" (main/say.c get_number_str_en)."""
    if number < 20:
        return [str(number)]
    tens, units = divmod(number, 10)
    return [str(tens * 10)] + ([str(units)] if units else [])


def test_every_number_said_has_indonesian_words() -> None:
    numbers = load_catalog(table="numbers")
    assert [numbers[n] for n in number_files(2)] == ["dua"]
    assert [numbers[n] for n in number_files(23)] == ["dua puluh", "tiga"]
    assert [numbers[n] for n in number_files(11)] == ["sebelas"]
    queues = (CONF_DIR / "queues.conf").read_text()
    limit = int(setting(queues, "announce-position-limit"))
    # Positions up to the limit, the limit itself ("at least N"), and any capped wait.
    for number in range(0, 100):
        assert set(number_files(number)) <= set(numbers), number
    assert limit < 100


def test_every_sound_the_queue_and_the_wait_play_is_in_the_catalog() -> None:
    prompts = load_catalog()
    queues = (CONF_DIR / "queues.conf").read_text()
    overrides = dict(re.findall(r"^(queue-[a-z0-9]+) = lapor/([a-z0-9-]+)$", queues, re.M))
    assert set(overrides) == {
        "queue-youarenext",
        "queue-thereare",
        "queue-callswaiting",
        "queue-quantity1",
        "queue-quantity2",
        "queue-thankyou",
    }
    assert set(overrides.values()) <= set(prompts)
    assert prompts[overrides["queue-thereare"]] == "Anda berada di urutan ke"
    dialplan = (CONF_DIR / "extensions.conf").read_text()
    wait = dialplan.split("\n[queue-wait]\n")[1].split("\n[")[0]
    played = set(re.findall(r"Playback\(lapor/([a-z0-9-]+)\)", wait))
    assert played == {
        "antrean-perkiraan",
        "antrean-menit",
        "antrean-sebentar-lagi",
        "antrean-lebih-dari",
    }
    assert played <= set(prompts)
    assert "sebentar lagi" in prompts["antrean-sebentar-lagi"]


# Applications of the modules modules.conf keeps out (app_exec, app_system, app_originate):
# a step calling one ends the caller's channel ("No application 'ExecIf'").
UNLOADED_APPLICATIONS = {"Exec", "TryExec", "ExecIf", "System", "TrySystem", "Originate"}


def test_the_wait_uses_only_loaded_applications() -> None:
    modules = (CONF_DIR / "modules.conf").read_text()
    assert {"app_exec.so", "app_system.so", "app_originate.so"} <= set(
        re.findall(r"^noload => (\S+)$", modules, re.M)
    )
    dialplan = (CONF_DIR / "extensions.conf").read_text()
    wait = dialplan.split("\n[queue-wait]\n")[1].split("\n[")[0]
    applications = set(
        re.findall(r"^ *(?:exten => s,1|same => n(?:\([a-z]+\))?),(\w+)\(", wait, re.M)
    )
    assert {"Set", "GotoIf", "While", "Playback", "SayNumber", "Return"} <= applications
    assert not applications & UNLOADED_APPLICATIONS


def test_the_wait_is_said_before_the_first_queue() -> None:
    dialplan = (CONF_DIR / "extensions.conf").read_text()
    ivr = dialplan.split("\n[ivr]\n")[1].split("\n[")[0]
    assert ivr.index("?queue-wait,s,1)") < ivr.index("Queue(pengaduan")


def test_prompts_and_number_words_are_installed_in_their_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = tmp_path / "prompts.id.toml"
    catalog.write_text(
        '[prompts]\nantrean-urutan = "Anda berada di urutan ke"\n[numbers]\n2 = "dua"\n3 = "tiga"\n'
    )
    monkeypatch.setattr(synthesis, "synthesize", lambda text, target: target.write_text(text))
    studio = tmp_path / "studio"
    (studio / "digits").mkdir(parents=True)
    (studio / "digits" / "3.wav").write_text("studio tiga")
    language = tmp_path / "sounds" / "id"
    install_catalog(tmp_path / "cache", language, studio, catalog)
    assert (language / "lapor" / "antrean-urutan.wav").read_text() == "Anda berada di urutan ke"
    assert (language / "digits" / "2.wav").read_text() == "dua"
    assert (language / "digits" / "3.wav").read_text() == "studio tiga"
    assert not (language / "lapor" / "2.wav").exists()
