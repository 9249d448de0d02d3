"""The production deployment (docker-compose.yml, docker/) agrees with the repository.

Nothing is built or run here: these checks read the files, so a typo in a path, a port, a
secret or a config variable fails before anyone runs ``docker compose up``.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.people.bootstrap import SERVICE_TOKENS
from asterisk_conf.render import (
    DERIVATION_INPUTS,
    DERIVED,
    PLACEHOLDER,
    RenderError,
    read_env_file,
    render_dir,
)

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERIGNORE = REPO / ".dockerignore"
CONF_DIR = REPO / "asterisk_conf"

REQUIRED_SERVICES = ("asterisk", "ivr", "api", "postgres")
# Services that may run a published image instead of one built from this repository.
OFFICIAL_IMAGES = {"postgres": "postgres"}
# Unauthenticated or admin ports that must stay on the private network.
PRIVATE_PORTS = {5038: "AMI", 4573: "FastAGI"}
# Filled per agent from the agents file, never from the environment.
# Placeholders of repeated blocks (render.py fills them per agent or per unit number).
# Filled per item of a repeated block (agents, transfer numbers, cluster peers).
AGENT_PLACEHOLDERS = {
    "AGENT_ID",
    "AGENT_SECRET",
    "TRANSFER_UNIT",
    "TRANSFER_NUMBER",
    "PEER_NAME",
    "PEER_ADDRESS",
    "PEER_EID",
}
SECRET_KEY = re.compile(r"PASSWORD|SECRET", re.IGNORECASE)
# ${NAME} or ${NAME:?message} / ${NAME?message}, or ${NAME:-} for an optional secret (the
# trunk's password): no literal default for a secret.
SECRET_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*|:-)?\}")
URL_PASSWORD = re.compile(r"://[^/:@\s]+:(?P<password>[^@\s]*)@")
# ;{{#NAME}}: a block kept only when NAME has a value.
BLOCK_NAME = re.compile(r"^;\{\{#([A-Z][A-Z0-9_]*)\}\}$", re.M)
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)")


# ---- Reading the files ----


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


def services() -> dict[str, dict[str, Any]]:
    found = load_compose().get("services")
    assert isinstance(found, dict), "docker-compose.yml has no services"
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's ``environment``, in either the mapping or the list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (str(item).partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    assert isinstance(env, dict)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def port_numbers(spec: str) -> set[int]:
    """``"5060"`` or ``"10000-10999"`` -> the port numbers it names."""
    start, _, end = spec.partition("-")
    return set(range(int(start), int(end or start) + 1))


@dataclass(frozen=True)
class Published:
    entry: str
    host_ip: str
    ports: set[int]


def published_ports(service: dict[str, Any]) -> Iterator[Published]:
    """Each published port entry: its host address and the container and host ports."""
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            numbers = port_numbers(str(entry["target"]))
            if entry.get("published") is not None:
                numbers |= port_numbers(str(entry["published"]))
            yield Published(str(entry), str(entry.get("host_ip", "")), numbers)
            continue
        # Short syntax: [[IP:]HOST:]CONTAINER[/PROTOCOL]; an IPv6 address is bracketed.
        text = str(entry).partition("/")[0]
        host_ip = ""
        bracketed = re.match(r"^\[([^]]*)\]:(.*)$", text)
        if bracketed:
            host_ip, text = bracketed.groups()
        parts = text.split(":")
        if len(parts) == 3:
            host_ip = parts.pop(0)
        short_numbers: set[int] = set()
        for part in parts:
            if part:
                short_numbers |= port_numbers(part)
        yield Published(str(entry), host_ip, short_numbers)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped."""
    instructions = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, f"{path}: ends inside a continued line"
    return instructions


@dataclass(frozen=True)
class Copy:
    sources: list[str]
    dest: str
    from_stage: str | None


def copies(path: Path) -> list[Copy]:
    found = []
    for instruction in dockerfile_instructions(path):
        if instruction.keyword not in ("COPY", "ADD"):
            continue
        words = shlex.split(instruction.args)
        flags = [word for word in words if word.startswith("--")]
        rest = " ".join(shlex.quote(word) for word in words if not word.startswith("--"))
        paths = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        assert len(paths) >= 2, f"{path}: {instruction.keyword} {instruction.args}"
        stage = next((flag.split("=", 1)[1] for flag in flags if flag.startswith("--from=")), None)
        found.append(Copy([str(p) for p in paths[:-1]], str(paths[-1]), stage))
    return found


def dockerignore_patterns() -> list[str]:
    if not DOCKERIGNORE.exists():
        return []
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored_by_dockerignore(relative: str, patterns: list[str]) -> bool:
    """Docker's rule, simplified: the last matching pattern wins; a dir hides its contents."""
    parts = Path(relative.rstrip("/")).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.lstrip("!").strip("/")
        if body.startswith("**/"):
            matched = any(fnmatch.fnmatch(Path(c).name, body[3:]) for c in candidates)
        else:
            matched = any(fnmatch.fnmatch(c, body) for c in candidates)
        if matched:
            ignored = not negate
    return ignored


def built_services() -> dict[str, tuple[Path, Path]]:
    """Service name -> (build context, Dockerfile) for every service built here."""
    built = {}
    for name, service in services().items():
        build = service.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = (REPO / str(build.get("context", "."))).resolve()
        built[name] = (context, context / str(build.get("dockerfile", "Dockerfile")))
    return built


def conf_placeholders() -> set[str]:
    names: set[str] = set()
    for path in CONF_DIR.glob("*.conf"):
        text = path.read_text(encoding="utf-8")
        names |= set(PLACEHOLDER.findall(text)) | set(BLOCK_NAME.findall(text))
    return names - {"AGENTS"}  # the block repeated per agent, not a value


def placeholder_of(env_name: str) -> str | None:
    """``LAPOR_X`` and ``LAPOR_X_FILE`` set the placeholder ``X`` (as render.py reads them)."""
    if not env_name.startswith("LAPOR_"):
        return None
    name = env_name.removeprefix("LAPOR_")
    if name != "AGENTS_FILE" and name.endswith("_FILE"):
        name = name.removesuffix("_FILE")
    return name


def asterisk_defaults() -> dict[str, str]:
    return read_env_file(CONF_DIR / "defaults.env")


def volume_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> volume or host path."""
    mounts = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            mounts[str(entry["target"])] = str(entry.get("source", ""))
        else:
            source, _, rest = str(entry).partition(":")
            mounts[rest.partition(":")[0]] = source
    return mounts


# ---- Services, images and builds ----


def test_required_services_exist() -> None:
    missing = [name for name in REQUIRED_SERVICES if name not in services()]
    assert not missing, f"docker-compose.yml lacks services: {missing}"


def test_compose_has_no_obsolete_version_key() -> None:
    assert "version" not in load_compose()


@pytest.mark.parametrize("name", REQUIRED_SERVICES)
def test_service_is_built_here_or_an_allowed_official_image(name: str) -> None:
    service = services()[name]
    if "build" in service:
        context, dockerfile = built_services()[name]
        assert context.is_dir(), f"{name}: build context {context} does not exist"
        assert REPO in (context, *context.parents), f"{name}: context outside the repository"
        assert dockerfile.is_file(), f"{name}: Dockerfile {dockerfile} does not exist"
    else:
        image = str(service.get("image", ""))
        assert OFFICIAL_IMAGES.get(name) == image.split(":")[0], (
            f"{name}: image {image!r} is neither built here nor an allowed official image"
        )
        tag = image.partition(":")[2]
        assert tag, f"{name}: pin the image tag"
        assert tag != "latest", f"{name}: pin the image tag"


def long_running() -> dict[str, dict[str, Any]]:
    """Every service but the one-shot init services (``restart: "no"``)."""
    return {n: s for n, s in services().items() if s.get("restart") != "no"}


def test_every_service_has_a_healthcheck_and_restarts() -> None:
    assert set(services()) - set(long_running()) == {"bootstrap"}
    for name, service in long_running().items():
        check = service.get("healthcheck") or {}
        assert check.get("test"), f"{name}: no healthcheck"
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        assert service.get("restart") == "unless-stopped", f"{name}: restart policy"


def test_an_unhealthy_service_is_ended_so_that_it_restarts() -> None:
    """Docker never restarts an unhealthy container: each check runs through
    docker/healthcheck.sh, which ends the service after ``retries`` failures, under
    Docker's init (a PID 1 without handlers ignores the signals)."""
    for name, service in long_running().items():
        check = service["healthcheck"]
        test = check["test"]
        assert test[:2] == ["CMD", "lapor-healthcheck"], f"{name}: {test}"
        assert int(test[2]) == check["retries"], f"{name}: the wrapper's count is not retries"
        assert int(test[3]) >= int(str(check["start_period"]).rstrip("s")), name
        assert service.get("init") is True, f"{name}: needs init: true"
    for name, (_, dockerfile) in built_services().items():
        installed = {c.dest: c.sources for c in copies(dockerfile) if c.from_stage is None}
        assert installed.get("/usr/local/bin/lapor-healthcheck") == ["docker/healthcheck.sh"], name
    postgres = volume_mounts(services()["postgres"])
    assert postgres["/usr/local/bin/lapor-healthcheck"] == "./docker/healthcheck.sh"


def test_every_service_bounds_its_logs() -> None:
    for name, service in services().items():
        logging = service.get("logging") or {}
        assert logging.get("driver") == "json-file", name
        options = logging.get("options") or {}
        assert re.fullmatch(r"\d+[km]", str(options.get("max-size", ""))), name
        assert int(options.get("max-file", 0)) >= 1, name


def test_compose_says_it_needs_compose_v2() -> None:
    assert load_compose().get("name") == "lapor"
    head = COMPOSE_FILE.read_text(encoding="utf-8").split("\nname:")[0]
    assert "Compose v2" in head


# ---- One-pass start: lapor bootstrap ----


def test_bootstrap_runs_once_after_postgres_and_before_its_token_readers() -> None:
    bootstrap = services()["bootstrap"]
    assert bootstrap["command"] == ["lapor", "bootstrap"]
    assert bootstrap["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "ivr", "collector", "asterisk"):
        depends = services()[name]["depends_on"]
        assert depends["bootstrap"]["condition"] == "service_completed_successfully", name


def test_services_read_the_token_files_bootstrap_writes() -> None:
    bootstrap = services()["bootstrap"]
    tokens_dir = environment(bootstrap)["LAPOR_TOKENS_DIR"]
    assert volume_mounts(bootstrap)[tokens_dir] == "tokens"
    readers = {
        "ivr": ("ivr", "LAPOR_IVR_API_TOKEN_FILE"),
        "collector": ("collector", "LAPOR_COLLECTOR_API_TOKEN_FILE"),
        "gateway": ("asterisk", "LAPOR_SMS_API_TOKEN_FILE"),
    }
    # monitoring.token: read by Prometheus's config, not an environment variable
    # (tests/unit/test_monitoring_stack.py).
    assert set(readers) | {"monitoring"} == {stem for stem, _ in SERVICE_TOKENS}
    for stem, (name, variable) in readers.items():
        service = services()[name]
        assert environment(service)[variable] == f"{tokens_dir}/{stem}.token", name
        mounts = [str(v) for v in service["volumes"]]
        assert f"tokens:{tokens_dir}:ro" in mounts, name
        # No token of the old two-pass start-up left to fill in by hand.
        assert variable.removesuffix("_FILE") not in environment(service), name
    text = COMPOSE_FILE.read_text(encoding="utf-8") + ENV_EXAMPLE.read_text(encoding="utf-8")
    for old in ("IVR_API_TOKEN", "COLLECTOR_API_TOKEN", "SMS_API_TOKEN"):
        assert not re.search(rf"LAPOR_{old}[:=]", text), old


# ---- State that outlives a container ----


def test_astdb_is_a_named_volume() -> None:
    """The queue's dynamic members (officers logged in) are in astdb."""
    declared = load_compose().get("volumes") or {}
    mounts = volume_mounts(services()["asterisk"])
    assert mounts[asterisk_defaults()["AST_DB_DIR"]] == "asterisk-db"
    assert "asterisk-db" in declared


def test_the_api_reads_queue_log() -> None:
    log_dir = asterisk_defaults()["AST_LOG_DIR"]
    asterisk_logs = volume_mounts(services()["asterisk"])[log_dir]
    assert f"{asterisk_logs}:{log_dir}:ro" in [str(v) for v in services()["api"]["volumes"]]


def test_classic_agi_shares_the_ivr_services_spool_node_and_token() -> None:
    ivr = services()["ivr"]
    asterisk = services()["asterisk"]
    ivr_env, asterisk_env = environment(ivr), environment(asterisk)
    for key in ("LAPOR_IVR_SPOOL_DIR", "LAPOR_IVR_NODE_ID", "LAPOR_IVR_API_URL"):
        assert asterisk_env[key] == ivr_env[key], key
    spool = ivr_env["LAPOR_IVR_SPOOL_DIR"]
    assert volume_mounts(asterisk)[spool] == volume_mounts(ivr)[spool] == "ivr-spool"
    assert asterisk_env["LAPOR_IVR_API_TOKEN_FILE"] == ivr_env["LAPOR_IVR_API_TOKEN_FILE"]
    # The entrypoint wipes /etc/asterisk, then writes the env file classic scripts read.
    _, dockerfile = built_services()["asterisk"]
    script = (REPO / "docker/asterisk/entrypoint.sh").read_text(encoding="utf-8")
    wipe = script.index('find "$ETC" -mindepth 1 -delete')
    assert script.index('>"$ETC/lapor-ivr.env"') > wipe
    # One uid for both images' users, so both may write the counter and read the token.
    runs = " ".join(i.args for i in dockerfile_instructions(dockerfile) if i.keyword == "RUN")
    assert "usermod -u 10001" in runs
    _, python_dockerfile = built_services()["api"]
    python_runs = " ".join(
        i.args for i in dockerfile_instructions(python_dockerfile) if i.keyword == "RUN"
    )
    assert "--uid 10001" in python_runs


def test_api_waits_for_a_healthy_database() -> None:
    depends = services()["api"].get("depends_on") or {}
    assert isinstance(depends, dict), "api: depends_on needs the long form with a condition"
    assert depends.get("postgres", {}).get("condition") == "service_healthy"


# ---- Ports, network, volumes ----


def test_private_ports_are_never_published() -> None:
    for name, service in services().items():
        for published in published_ports(service):
            leaked = {PRIVATE_PORTS[p] for p in published.ports if p in PRIVATE_PORTS}
            assert not leaked, f"{name} publishes {sorted(leaked)} with {published.entry!r}"
            if name in ("api", "postgres"):
                assert published.host_ip == "127.0.0.1", f"{name}: publish to loopback only"


def test_asterisk_publishes_sip_and_the_whole_rtp_range() -> None:
    defaults = asterisk_defaults()
    entries = [str(entry) for entry in services()["asterisk"].get("ports") or []]
    sip = defaults["SIP_PORT"]
    rtp = f"{defaults['RTP_START']}-{defaults['RTP_END']}"
    assert f"{sip}:{sip}/udp" in entries, entries
    assert f"{rtp}:{rtp}/udp" in entries, entries


def test_ami_permit_covers_exactly_the_private_network() -> None:
    compose = load_compose()
    asterisk = services()["asterisk"]
    permit = ipaddress.ip_network(environment(asterisk)["LAPOR_AMI_PERMIT"])
    networks = asterisk.get("networks") or []
    assert "lapor" in networks, "asterisk must sit on the explicit private network lapor"
    ipam = compose["networks"]["lapor"]["ipam"]["config"]
    subnets = [ipaddress.ip_network(entry["subnet"]) for entry in ipam]
    assert permit in subnets, f"LAPOR_AMI_PERMIT {permit} is not the subnet of lapor"


def test_fastagi_listens_only_on_the_network_the_ivr_shares_with_asterisk() -> None:
    compose = load_compose()
    agi = compose["networks"]["agi"]
    assert agi.get("internal") is True
    members = [
        name for name, service in services().items() if "agi" in (service.get("networks") or [])
    ]
    assert sorted(members) == ["asterisk", "ivr", "ivr-backup"]
    asterisk_address = services()["asterisk"]["networks"]["agi"]["ipv4_address"]
    asterisk = environment(services()["asterisk"])
    for name, url_host in (("ivr", "LAPOR_AGI_HOST"), ("ivr-backup", "LAPOR_AGI_BACKUP_HOST")):
        address = services()[name]["networks"]["agi"]["ipv4_address"]
        ivr = environment(services()[name])
        assert ivr["LAPOR_AGI_HOST"] == address  # not 0.0.0.0: not on the lapor network
        assert ivr["LAPOR_IVR_ALLOWED_PEERS"] == asterisk_address
        assert asterisk[url_host] == address
    backup = environment(services()["ivr-backup"])
    assert asterisk["LAPOR_AGI_BACKUP_PORT"] == backup["LAPOR_AGI_PORT"]


def test_the_two_ivr_servers_never_share_a_spool_or_a_node_id() -> None:
    first, backup = (services()[name] for name in ("ivr", "ivr-backup"))
    spool = environment(first)["LAPOR_IVR_SPOOL_DIR"]
    assert environment(backup)["LAPOR_IVR_SPOOL_DIR"] == spool
    assert volume_mounts(first)[spool] != volume_mounts(backup)[spool]
    assert environment(first)["LAPOR_IVR_NODE_ID"] != environment(backup)["LAPOR_IVR_NODE_ID"]
    assert (
        environment(first)["LAPOR_IVR_API_TOKEN_FILE"]
        == (environment(backup)["LAPOR_IVR_API_TOKEN_FILE"])
    )


def test_asterisk_volumes_hold_recordings_and_queue_log() -> None:
    defaults = asterisk_defaults()
    declared = load_compose().get("volumes") or {}
    mounts = volume_mounts(services()["asterisk"])
    assert "recordings" in declared
    assert mounts.get(defaults["RECORDING_DIR"]) == "recordings", mounts
    assert mounts.get(defaults["AST_LOG_DIR"]) in declared, "queue_log must outlive the container"


# ---- Secrets and configuration values ----


def test_no_literal_secrets_in_compose() -> None:
    for name, service in services().items():
        for key, value in environment(service).items():
            if SECRET_KEY.search(key) and not key.endswith("_FILE"):
                assert SECRET_REFERENCE.fullmatch(value), (
                    f"{name}: {key} must be a required ${{VAR:?...}} reference, not {value!r}"
                )
            url = URL_PASSWORD.search(value)
            if url:
                assert SECRET_REFERENCE.fullmatch(url.group("password")), f"{name}: {key}"


def test_env_example_lists_every_compose_variable() -> None:
    used = set(INTERPOLATION.findall(COMPOSE_FILE.read_text(encoding="utf-8")))
    listed = set(read_env_file(ENV_EXAMPLE))
    assert used <= listed, f".env.example lacks {sorted(used - listed)}"


def test_asterisk_env_names_real_placeholders() -> None:
    placeholders = conf_placeholders()
    for key in environment(services()["asterisk"]):
        name = placeholder_of(key)
        if name is None or name == "AGENTS_FILE":
            continue
        if name.startswith("IVR_") and name not in placeholders:
            continue  # the classic AGI scripts' settings (checked above)
        if name in DERIVATION_INPUTS:
            continue  # render.py turns them into a placeholder's value
        assert name in placeholders, f"{key} sets {{{{{name}}}}}, used by no asterisk_conf file"


def test_asterisk_env_provides_every_value_without_a_default() -> None:
    provided = {placeholder_of(key) for key in environment(services()["asterisk"])}
    needed = conf_placeholders() - set(asterisk_defaults()) - AGENT_PLACEHOLDERS - DERIVED
    assert needed, "expected at least one secret placeholder (AMI_COLLECTOR_SECRET)"
    assert not needed - provided, f"compose does not set LAPOR_{sorted(needed - provided)}"


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:?msg}`` and ``${NAME:-default}``, enough for our file."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, rest = match.group(1), match.group(2) or "", match.group(3) or ""
        if variables.get(name):
            return variables[name]
        assert "?" not in operator, f"{name} is required but unset"
        return rest

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}", substitute, value)


def example_variables(**overrides: str) -> dict[str, str]:
    """.env.example's values, its change-me placeholders replaced as its comments ask."""
    variables = {
        key: secrets.token_hex(24) if "change-me" in value else value
        for key, value in read_env_file(ENV_EXAMPLE).items()
    }
    return variables | overrides


def asterisk_env(variables: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The asterisk container's environment from ``variables``, its files (one agent, the
    tokens bootstrap writes) made in ``tmp_path``."""
    env = {
        key: interpolate(value, variables)
        for key, value in environment(services()["asterisk"]).items()
    }
    agents = tmp_path / "agents.txt"
    agents.write_text("petugas01:agent-secret-0123456789\n", encoding="utf-8")
    env["LAPOR_AGENTS_FILE"] = str(agents)
    for key, value in env.items():
        if key.endswith("_TOKEN_FILE"):
            token = tmp_path / Path(value).name
            token.write_text(secrets.token_urlsafe(32) + "\n", encoding="utf-8")
            env[key] = str(token)
    return env


def test_asterisk_config_renders_from_the_compose_environment(tmp_path: Path) -> None:
    """What the entrypoint does at start-up, with .env.example's values and one agent."""
    variables = example_variables()
    env = asterisk_env(variables, tmp_path)
    written = render_dir(CONF_DIR, tmp_path / "etc", env)
    rendered = {path.name: path.read_text(encoding="utf-8") for path in written}
    assert "secret = " + variables["LAPOR_AMI_COLLECTOR_SECRET"] in rendered["manager.conf"]
    assert "permit = 172.30.0.0/255.255.255.0" in rendered["manager.conf"]
    assert "bindaddr = 0.0.0.0" in rendered["manager.conf"]
    assert "AGI_URL = agi://172.30.1.3:4573" in rendered["extensions.conf"]
    assert "match = " + variables["LAPOR_TRUNK_MATCH"] in rendered["pjsip.conf"]
    assert "password = agent-secret" in rendered["pjsip_agents.conf"]
    assert "external_media_address" not in rendered["pjsip.conf"]
    assert "local_net" not in rendered["pjsip.conf"]


def test_the_nat_settings_reach_the_sip_transport(tmp_path: Path) -> None:
    variables = example_variables(
        LAPOR_EXTERNAL_ADDRESS="203.0.113.10", LAPOR_LOCAL_NETS="172.30.0.0/24,192.168.1.0/24"
    )
    env = asterisk_env(variables, tmp_path)
    pjsip = render_dir(CONF_DIR, tmp_path / "etc", env, ["pjsip.conf"])[0].read_text()
    transport = pjsip.split("[transport-udp]")[1].split("\n[")[0]
    assert "external_media_address = 203.0.113.10" in transport
    assert "external_signaling_address = 203.0.113.10" in transport
    assert "local_net = 172.30.0.0/24,192.168.1.0/24" in transport


def test_agents_file_is_a_mounted_compose_secret() -> None:
    asterisk = services()["asterisk"]
    path = environment(asterisk).get("LAPOR_AGENTS_FILE", "")
    assert path.startswith("/run/secrets/"), "LAPOR_AGENTS_FILE must name a compose secret"
    secret = path.removeprefix("/run/secrets/")
    mounted = [s if isinstance(s, str) else s.get("source") for s in asterisk.get("secrets", [])]
    assert secret in mounted, f"secret {secret!r} is not mounted into asterisk"
    declared = load_compose().get("secrets") or {}
    assert "file" in declared.get(secret, {}), f"secret {secret!r} is not declared with a file"


# ---- Dockerfiles ----


def test_dockerfile_copy_sources_exist_and_reach_the_build() -> None:
    patterns = dockerignore_patterns()
    checked = 0
    for name, (context, dockerfile) in built_services().items():
        for copy in copies(dockerfile):
            if copy.from_stage is not None:
                continue
            for source in copy.sources:
                assert list(context.glob(source.rstrip("/"))), (
                    f"{name}: {dockerfile.relative_to(REPO)} copies {source!r}, which is missing"
                )
                assert not ignored_by_dockerignore(source, patterns), (
                    f"{name}: {source!r} is excluded by .dockerignore"
                )
                checked += 1
    assert checked, "no COPY instruction found: is the Dockerfile parser broken?"


def test_dockerignore_keeps_secrets_and_the_venv_out() -> None:
    patterns = dockerignore_patterns()
    for path in (".venv", ".git", "secrets/agents.txt", ".env", "var/lapor.db", "tests"):
        assert ignored_by_dockerignore(path, patterns), f"{path} would be sent to the build"


def test_python_image_runs_as_a_non_root_user() -> None:
    _, dockerfile = built_services()["api"]
    users = [i.args for i in dockerfile_instructions(dockerfile) if i.keyword == "USER"]
    assert users, "the Python image needs a USER"
    assert users[-1].partition(":")[0] not in ("root", "0"), "the services must not run as root"


def test_asterisk_entrypoint_exists_and_is_executable() -> None:
    context, dockerfile = built_services()["asterisk"]
    instructions = dockerfile_instructions(dockerfile)
    entrypoints = [i.args for i in instructions if i.keyword == "ENTRYPOINT"]
    assert entrypoints, "the Asterisk image needs an ENTRYPOINT"
    target = json.loads(entrypoints[-1])[0]
    installs = [c for c in copies(dockerfile) if c.dest == target and c.from_stage is None]
    sources = [c.sources[0] for c in installs]
    assert sources, f"no COPY installs the entrypoint {target}"
    script = context / sources[0]
    assert script.is_file(), f"{script} does not exist"
    assert os.access(script, os.X_OK), f"{script} is not executable"
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/sh")
    # Render failures (a missing secret) must stop the container, not start Asterisk.
    assert "set -eu" in text
    assert "render.py" in text
    assert "exec asterisk" in text
    if shutil.which("sh"):
        subprocess.run(["sh", "-n", str(script)], check=True)


# ---- The real Compose parser, where the docker CLI has its compose plugin ----


def compose_cli() -> list[str]:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on this machine")
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode != 0:
        pytest.skip("the docker CLI has no compose plugin (Debian: docker-compose package)")
    return [docker, "compose", "-f", str(COMPOSE_FILE), "--project-directory", str(REPO)]


def compose_env() -> dict[str, str]:
    """The environment without LAPOR_* values, so only the env file can supply them."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}


def compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    """``docker compose config -q``: validates without an engine (schema, interpolation,
    references)."""
    return subprocess.run(
        [*compose_cli(), "--env-file", str(env_file), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        env=compose_env(),
        check=False,
    )


def test_docker_compose_config_accepts_the_example_env(tmp_path: Path) -> None:
    env_file = tmp_path / "compose.env"
    shutil.copyfile(ENV_EXAMPLE, env_file)
    result = compose_config(env_file)
    assert result.returncode == 0, result.stderr


def test_docker_compose_config_refuses_missing_secrets(tmp_path: Path) -> None:
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    result = compose_config(env_file)
    assert result.returncode != 0
    assert "LAPOR_" in result.stderr, result.stderr


def test_the_placeholders_of_env_example_are_refused_naming_the_variable(tmp_path: Path) -> None:
    env = asterisk_env(read_env_file(ENV_EXAMPLE), tmp_path)
    with pytest.raises(RenderError, match=r"LAPOR_\w+_SECRET is still the change-me placeholder"):
        render_dir(CONF_DIR, tmp_path / "etc", env)
