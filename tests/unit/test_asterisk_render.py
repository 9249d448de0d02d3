"""asterisk_conf/render.py: placeholders, defaults, secrets from files, agent blocks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from asterisk_conf.render import RenderError, main, render_dir, render_text

CONF_DIR = Path(__file__).resolve().parents[2] / "asterisk_conf"


def test_placeholders_are_filled_and_dialplan_variables_left_alone() -> None:
    text = "port = {{AMI_PORT}}\nexten => s,1,NoOp(${CALLERID(num)})\n"
    assert render_text(text, {"AMI_PORT": "5038"}, []) == (
        "port = 5038\nexten => s,1,NoOp(${CALLERID(num)})\n"
    )


def test_missing_values_are_all_named_with_their_env_names() -> None:
    with pytest.raises(RenderError, match="LAPOR_AMI_PORT, LAPOR_SECRET"):
        render_text("{{SECRET}} {{AMI_PORT}} {{SECRET}}", {}, [])


def test_agent_block_repeats_per_agent() -> None:
    text = "head\n;{{#AGENTS}}\n[{{AGENT_ID}}]\npassword = {{AGENT_SECRET}}\n;{{/AGENTS}}\ntail\n"
    out = render_text(text, {}, [("1001", "a"), ("1002", "b")])
    assert out == "head\n[1001]\npassword = a\n[1002]\npassword = b\ntail\n"


def test_environment_overrides_defaults_and_reads_secret_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "defaults.env").write_text("# comment\nPORT=1\nHOST=loopback\n")
    (src / "x.conf").write_text("{{HOST}}:{{PORT}} {{SECRET}}\n")
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret\n")
    env = {"LAPOR_PORT": "2", "LAPOR_SECRET_FILE": str(secret_file), "OTHER": "x"}
    [written] = render_dir(src, tmp_path / "dst", env)
    assert written.read_text() == "loopback:2 s3cret\n"
    assert written.stat().st_mode & 0o777 == 0o600


def test_malformed_agents_file_is_rejected(tmp_path: Path) -> None:
    agents = tmp_path / "agents.txt"
    agents.write_text("1001:ok-0123456789abcdef\nno-secret-here\n")
    (tmp_path / "x.conf").write_text(";{{#AGENTS}}\n{{AGENT_ID}}\n;{{/AGENTS}}\n")
    with pytest.raises(RenderError, match=r"agents\.txt:2"):
        render_dir(tmp_path, tmp_path / "out", {"LAPOR_AGENTS_FILE": str(agents)})


def test_cli_reports_missing_secret_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["render.py", str(CONF_DIR), str(tmp_path)])
    assert code == 1
    assert "LAPOR_AMI_COLLECTOR_SECRET" in capsys.readouterr().err


def only_secrets(tmp_path: Path) -> dict[str, str]:
    """The environment with only what the templates need and have no default for."""
    agents = tmp_path / "agents.txt"
    agents.write_text("1001:pw-one-0123456789abcdef\n")
    return {
        "LAPOR_AMI_COLLECTOR_SECRET": "collector-pw-0123456789",
        "LAPOR_AMI_CONTROL_SECRET": "control-pw-0123456789",
        "LAPOR_AGENTS_FILE": str(agents),
    }


def test_shipped_templates_render_with_only_the_secrets_supplied(tmp_path: Path) -> None:
    render_dir(CONF_DIR, tmp_path / "etc", only_secrets(tmp_path))
    rendered = {p.name: p.read_text() for p in (tmp_path / "etc").iterdir()}
    assert not any("{{" in text for text in rendered.values())
    manager = rendered["manager.conf"]
    assert "bindaddr = 127.0.0.1" in manager
    collector, control = manager.split("[collector]")[1].split("[control]")
    assert re.search(r"^read = call,agent,user,system$", collector, re.M)
    assert re.search(r"^write =\s*$", collector, re.M)
    assert re.search(r"^read =\s*$", control, re.M)
    # Never system: the browser phones' passwords go through the webrtc-auth context.
    assert re.search(r"^write = agent,originate,message$", control, re.M)
    assert "bindaddr = 127.0.0.1" in rendered["http.conf"]
    assert "tlsenable" not in rendered["http.conf"]
    assert "auth = astdb,lapor_webrtc" in rendered["sorcery.conf"]
    # SMS over SIP stay unanswered until the gateway token is supplied.
    assert re.search(r"^SMS_API_TOKEN = $", rendered["extensions.conf"], re.M)
    assert "message_context = sms-in" in rendered["pjsip.conf"]
    assert "#include pjsip_agents.conf" in rendered["pjsip.conf"]
    assert "password = pw-one" in rendered["pjsip_agents.conf"]
    assert "servicelevel = 20" in rendered["queues.conf"]
    assert "joinempty = yes" in rendered["queues.conf"]
    assert "leavewhenempty = no" in rendered["queues.conf"]
    assert "exten => 082282204761,1,Set(__LAPOR_LINE" in rendered["extensions.conf"]


def test_another_citys_lines_reach_the_dialplan_and_the_callback_caller_id(
    tmp_path: Path,
) -> None:
    env = {**only_secrets(tmp_path), "LAPOR_LINE_1": "0721111", "LAPOR_LINE_2": "0721222"}
    render_dir(CONF_DIR, tmp_path / "etc", env)
    dialplan = (tmp_path / "etc" / "extensions.conf").read_text()
    assert "exten => 0721111,1,Set(__LAPOR_LINE" in dialplan
    assert "exten => 0721222,1,Set(__LAPOR_LINE" in dialplan
    assert "]?0721111:${LAPOR_CALLBACK_FROM})})" in dialplan
    assert "082282204761" not in dialplan


def test_no_secret_is_committed_in_the_templates() -> None:
    for conf in CONF_DIR.glob("*.conf"):
        for line in conf.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in {"secret", "password"}:
                assert value.strip().startswith("{{"), f"{conf.name}: {line}"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("LAPOR_AMI_CONTROL_SECRET", "change-me-ami-control-secret", "change-me"),
        ("LAPOR_AMI_CONTROL_SECRET", "short", "shorter than 16"),
        ("LAPOR_TRUNK_HOST", "gw\n[evil]\ntype=endpoint", "line break"),
    ],
)
def test_a_placeholder_weak_or_multiline_value_is_refused_by_name(
    tmp_path: Path, name: str, value: str, problem: str
) -> None:
    env = {**only_secrets(tmp_path), name: value}
    with pytest.raises(RenderError, match=f"{name} .*{problem}"):
        render_dir(CONF_DIR, tmp_path / "etc", env)


def test_a_weak_sip_secret_in_the_agents_file_is_refused(tmp_path: Path) -> None:
    env = only_secrets(tmp_path)
    Path(env["LAPOR_AGENTS_FILE"]).write_text("1001:1001\n")
    with pytest.raises(RenderError, match=r"agents\.txt:1: the SIP secret of 1001"):
        render_dir(CONF_DIR, tmp_path / "etc", env)


@pytest.mark.parametrize(
    "secret", ['abcdefgh12345678"', "abcdefgh12345678\\", "abcdefgh;2345678", "abcd efgh12345678"]
)
def test_a_sip_secret_that_would_bend_a_config_file_is_refused(tmp_path: Path, secret: str) -> None:
    env = only_secrets(tmp_path)
    Path(env["LAPOR_AGENTS_FILE"]).write_text(f"1001:{secret}\n")
    with pytest.raises(RenderError, match=r"agents\.txt:1: the SIP secret of 1001 holds"):
        render_dir(CONF_DIR, tmp_path / "etc", env)


def test_officers_phones_register_only_from_the_allowed_networks(tmp_path: Path) -> None:
    render_dir(CONF_DIR, tmp_path / "etc", only_secrets(tmp_path))
    pjsip = (tmp_path / "etc" / "pjsip.conf").read_text()
    endpoint = pjsip.split("#include pjsip_agents.conf")[0].split("[agent-endpoint](!)")[1]
    officers = (tmp_path / "etc" / "pjsip_agents.conf").read_text()
    assert "[1001](agent-endpoint)" in officers
    for option in ("deny", "contact_deny"):
        assert f"{option} = 0.0.0.0/0.0.0.0" in endpoint
    for option in ("permit", "contact_permit"):
        assert f"{option} = 127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16" in endpoint


def test_the_trunk_is_ip_identified_unless_digest_auth_and_registration_are_set(
    tmp_path: Path,
) -> None:
    render_dir(CONF_DIR, tmp_path / "ip", only_secrets(tmp_path))
    by_ip = (tmp_path / "ip" / "pjsip.conf").read_text()
    assert "outbound_auth" not in by_ip
    assert "type = registration" not in by_ip
    env = {
        **only_secrets(tmp_path),
        "LAPOR_TRUNK_USERNAME": "lapor",
        "LAPOR_TRUNK_PASSWORD": "provider-password-123",
        "LAPOR_TRUNK_REGISTER": "yes",
    }
    render_dir(CONF_DIR, tmp_path / "digest", env)
    digest = (tmp_path / "digest" / "pjsip.conf").read_text()
    assert "outbound_auth = trunk-auth" in digest
    assert "password = provider-password-123" in digest
    assert "type = registration" in digest
    assert "client_uri = sip:lapor@gsm-gateway" in digest


def test_the_agi_secret_reaches_every_fastagi_url(tmp_path: Path) -> None:
    secret = "agi-secret-0123456789"
    render_dir(CONF_DIR, tmp_path / "etc", {**only_secrets(tmp_path), "LAPOR_AGI_SECRET": secret})
    dialplan = (tmp_path / "etc" / "extensions.conf").read_text()
    assert f"AGI_SECRET = {secret}" in dialplan
    # The URL, before the arguments (the call's linkedid).
    fastagi = re.findall(r"AGI\((\$\{AGI_(?:BACKUP_)?URL\}.*?),linkedid=", dialplan)
    assert sorted(fastagi) == [
        "${AGI_BACKUP_URL}/${FILTER(a-z,${ARG1})}?secret=${AGI_SECRET}",
        "${AGI_URL}/${FILTER(a-z,${ARG1})}?secret=${AGI_SECRET}",
    ]
    # Without one, the dialplan sends an empty secret (only a server without one accepts).
    render_dir(CONF_DIR, tmp_path / "plain", only_secrets(tmp_path))
    assert re.search(r"^AGI_SECRET = $", (tmp_path / "plain" / "extensions.conf").read_text(), re.M)


def test_a_backup_fastagi_server_is_rendered_only_when_configured(tmp_path: Path) -> None:
    render_dir(CONF_DIR, tmp_path / "one", only_secrets(tmp_path))
    single = (tmp_path / "one" / "extensions.conf").read_text()
    assert re.search(r"^AGI_BACKUP_URL = $", single, re.M)
    # Every FastAGI script goes through the one subroutine that knows the backup.
    assert re.findall(r"Gosub\(fastagi,s,1\((\w+)\)\)", single) == ["call", "callback", "survey"]
    env = {
        **only_secrets(tmp_path),
        "LAPOR_AGI_BACKUP_HOST": "10.0.0.7",
        "LAPOR_AGI_BACKUP_PORT": "4574",
    }
    render_dir(CONF_DIR, tmp_path / "two", env)
    two = (tmp_path / "two" / "extensions.conf").read_text()
    assert re.search(r"^AGI_BACKUP_URL = agi://10\.0\.0\.7:4574$", two, re.M)
    assert "AGI(${AGI_BACKUP_URL}/${FILTER(a-z,${ARG1})}?secret=${AGI_SECRET}," in two


@pytest.mark.parametrize(
    ("host", "port"), [("10.0.0.7", "0"), ("10.0.0.7", "x"), ("bad/host", "4573"), ("a b", "1")]
)
def test_a_malformed_backup_fastagi_server_is_refused(tmp_path: Path, host: str, port: str) -> None:
    env = {**only_secrets(tmp_path), "LAPOR_AGI_BACKUP_HOST": host, "LAPOR_AGI_BACKUP_PORT": port}
    with pytest.raises(RenderError, match="AGI_BACKUP"):
        render_dir(CONF_DIR, tmp_path / "etc", env)
