"""API settings from the environment (``LAPOR_API_*``) or a ``.env`` file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.core.city_units import transfer_targets
from asterisk_values import NODE_PATTERN
from ivr.placeholders import refuse_placeholder

# A call whose end was never seen (its hangup events lost) stops counting as in progress,
# in the live view (on a call, waiting) and in an officer's screen pop, this many hours
# after it was answered or queued. 12, not 4: nothing bounds a real call's length (no
# dialplan limit; a caller the IVR could not serve waits in the queue as long as it
# takes), so a short horizon would hide real calls; and the usual cause of a lost end, a
# collector outage, is corrected at its reconnect by the QueueStatus snapshot, so this is
# only the last resort against a ghost call.
CALL_END_HORIZON_HOURS = 12
CALL_END_HORIZON = timedelta(hours=CALL_END_HORIZON_HOURS)

# The folder that holds the ``api`` package: a checkout's root when running from source.
CODE_ROOT = Path(__file__).resolve().parents[2]


# A STUN or TURN server's address as a browser's RTCPeerConnection takes it.
ICE_URL = r"^(stun|turn|turns):[A-Za-z0-9.:\[\]-]{1,200}(\?transport=(udp|tcp))?$"


class IceServer(BaseModel):
    """One of the browser phones' ICE servers (RTCIceServer): a TURN server relays the
    audio when an officer's PC can't reach Asterisk's media ports directly."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    urls: list[Annotated[str, Field(pattern=ICE_URL)]] = Field(min_length=1, max_length=4)
    username: str | None = Field(default=None, min_length=1, max_length=128)
    credential: str | None = Field(default=None, min_length=1, max_length=128)


# An address as the report's delivery takes it: no display name, no spaces or brackets.
EMAIL_ADDRESS = r"^[^@\s<>,;:\"()\[\]]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,63}$"
EmailAddress = Annotated[str, Field(max_length=254, pattern=EMAIL_ADDRESS)]


def default_data_dir(code_root: Path = CODE_ROOT, env: Mapping[str, str] = os.environ) -> Path:
    """Where the SQLite database lives when ``LAPOR_API_DATABASE_URL`` is unset.

    Never relative to the current directory: every process (``lapor-api``, each ``lapor``
    command, from any folder) must open the same file, or a command run elsewhere makes a
    second, empty database. From a checkout (the code next to its ``pyproject.toml``,
    an editable install) it is the checkout's ``var/``, where ``make run`` keeps its state,
    so ``lapor token create`` reaches make run's database. Installed as a package (the
    Docker image, a pip install) there is no checkout: then the running user's XDG data
    folder (``$XDG_DATA_HOME/lapor``, else ``~/.local/share/lapor``), which that user can
    create without root, unlike ``/var/lib/lapor``; the services and the ``lapor``
    commands run as the same service user. A real deployment sets
    ``LAPOR_API_DATABASE_URL`` (PostgreSQL) and never uses this.
    """
    if (code_root / "pyproject.toml").is_file():
        return code_root / "var"
    xdg = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "lapor"


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'lapor.db'}"


class ApiSettings(BaseSettings):
    """Built by ``ApiSettings()`` at start-up, never at import time."""

    # Errors don't echo the input: it holds the secrets.
    model_config = SettingsConfigDict(
        env_prefix="LAPOR_API_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    # SQLite in default_data_dir() unless set: the same file from any current directory.
    database_url: str = Field(default_factory=default_database_url)
    # Loopback by default; a deployment binds a private address behind its proxy.
    host: str = "127.0.0.1"
    port: int = 8000
    # Worker processes (one per core suits PostgreSQL; keep 1 on SQLite).
    workers: int = Field(default=1, ge=1, le=64)
    log_level: str = "info"
    # /docs, /redoc and /openapi.json: off unless asked for (`make run` turns them on). The
    # schema maps every route and role for whoever asks, and a browser can't send a bearer
    # token to load the docs page, so they are not put behind one.
    docs_enabled: bool = False
    # Mark the pages' session cookie Secure even when the request looks like plain http
    # (TLS ends at a proxy that doesn't send X-Forwarded-Proto). Over https it always is.
    cookie_secure: bool = False
    # Request bodies over this many bytes get 413 before they are read: 1 MiB by default
    # (the largest SMS a gateway posts is under 0.3 MiB) and 32 MiB for POST /events, where
    # the collector's largest batch (10 000 events of about 1.2 KB, the size of an
    # AgentComplete with both channels) is about 12 MiB.
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    events_max_body_bytes: int = Field(default=32 << 20, ge=1024)
    # See CALL_END_HORIZON_HOURS above.
    call_end_horizon_hours: int = Field(default=CALL_END_HORIZON_HOURS, ge=1, le=168)
    # KPI defaults (docs/asterisk.md); hourly rollups are kept for these thresholds.
    short_abandon_seconds: int = 5
    service_level_seconds: int = 20
    # The service level the city aims for (percent answered within service_level_seconds):
    # the wallboard raises an alert below it.
    service_level_target_pct: float = Field(default=80.0, ge=0, le=100)
    # A collector reports every LAPOR_COLLECTOR_STATUS_INTERVAL seconds (15); after this many
    # seconds without a report the wallboard says it is unreachable.
    collector_silent_seconds: int = Field(default=60, ge=5, le=3600)
    # Whether an officer's console says so when a supervisor listens, whispers or joins.
    supervision_tell_officer: bool = False
    # Login tokens last one officer's shift; service tokens don't expire (revoke them).
    token_ttl_minutes: int = 480
    # Failed logins per username and client address allowed in the window before login
    # answers 429 to that pair (other addresses can still log in as that user).
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    # The client address is the TCP peer's, or, from these proxy addresses only, the one
    # in X-Forwarded-For (uvicorn's --forwarded-allow-ips; "*" trusts every peer). Behind
    # a reverse proxy, name it here, or every login counts as the proxy's.
    forwarded_allow_ips: str = "127.0.0.1"
    # AMI command user of the agents' console (queue login, logout, pause).
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_control_user: str = "control"
    ami_control_secret: str = ""
    # The other call-center nodes' AMI, "[name=]host[:port],..." (same control user and
    # secret): queue login, logout and pause go to every node; callbacks and SMS replies
    # go to the first one reachable when ami_host is down; a supervisor joins a call on
    # the node named as the call's node (docs/scaling.md). Empty: one node.
    ami_peer_hosts: str = Field(default="", max_length=1000)
    # The name of the node at ami_host (its collector's LAPOR_COLLECTOR_NODE). Empty:
    # unnamed (a call of an unknown node is supervised there).
    ami_node: str = ""
    # The officers' browser phones: Asterisk's SIP-over-WebSocket URL as the browser
    # reaches it (ws://127.0.0.1:8088/ws on one machine; wss://... behind TLS in
    # production). Empty: the console has no browser phone. Its origin is added to the
    # pages' CSP connect-src.
    webrtc_ws_url: str = Field(
        default="", pattern=r"^(wss?://[A-Za-z0-9.:\[\]_-]+/[A-Za-z0-9/_-]*)?$"
    )
    # Behind the SIP edge (docs/scaling-edge.md) the browser phones register with Kamailio:
    # its JSON-RPC URL (http://edge:8081/RPC) and token (EDGE_RPC_TOKEN there), through
    # which the API puts and deletes their passwords. Empty: browser phones register with
    # the API's own Asterisk node (LAPOR_API_WEBRTC_WS_URL names the edge or that node).
    edge_rpc_url: str = Field(default="", pattern=r"^(https?://[A-Za-z0-9.:\[\]_-]+/RPC)?$")
    edge_rpc_token: str = Field(default="", max_length=200)
    # STUN/TURN servers for the browser phones (JSON, like RTCConfiguration.iceServers:
    # [{"urls": ["turn:turn.example.go.id:3478"], "username": "...", "credential": "..."}]).
    # Empty (the default): officers' PCs reach Asterisk's RTP ports directly.
    webrtc_ice_servers: list[IceServer] = Field(default_factory=list, max_length=4)
    # How often each replica revokes the browser phone passwords of console sessions that
    # ended without a sign-out (expired, or revoked elsewhere), and retries those Asterisk
    # could not be told about.
    browser_phone_sweep_seconds: float = Field(default=180.0, gt=0)
    # Virtual hold (api/callbacks/vhold.py): every replica's dialer looks this often for
    # callback requests to put in the queue in the citizen's place. A citizen not reached
    # (busy, no answer) gets another placeholder after each of these minutes in turn, then
    # an SMS (catalog text); [2, 5, 15] is four attempts. A placeholder waits at most
    # callback_hold_wait_minutes (then it is placed again, no attempt counted); requests
    # older than callback_hold_horizon_hours are left to the officers' list.
    callback_dialer_enabled: bool = True
    callback_dialer_seconds: float = Field(default=5.0, gt=0)
    callback_retry_minutes: list[int] = Field(default=[2, 5, 15], max_length=10)
    callback_hold_wait_minutes: int = Field(default=240, ge=5, le=1440)
    callback_hold_horizon_hours: int = Field(default=24, ge=1, le=168)
    # The city units' numbers officers may transfer a caller to (unit=number, comma-
    # separated; README "The browser phone"): the same list as Asterisk's
    # LAPOR_TRANSFER_NUMBERS, which its dialplan allows and nothing else.
    transfer_numbers: str = ""
    # The city's own days off (JSON list of dates) skipped by the LAPOR! working-day
    # deadlines, on top of Indonesia's national holidays and cuti bersama, which come from
    # the holidays package (api/core/clock.py).
    holidays: list[date] = []
    # Where the API finds the IVR's recordings (the folder Asterisk records into).
    recordings_dir: Path = Path("var/recordings")
    # Photos and documents a unit attaches to a complaint's closing note (JPEG, PNG, WebP,
    # PDF): where they are kept, how large one may be, and how many a complaint may hold.
    attachments_dir: Path = Path("var/attachments")
    attachment_max_bytes: int = Field(default=10 << 20, ge=1024, le=100 << 20)
    attachments_max_count: int = Field(default=5, ge=1, le=20)
    # The mayor's daily report of the day before, made at this Asia/Jakarta time (one
    # replica claims it); every replica checks whether it is due this often.
    report_enabled: bool = True
    report_time: time = time(7, 0)
    report_check_seconds: float = 60.0
    # SMS: tickets issued by the API are this 2-digit prefix (10-99; give no IVR node this
    # id) and a 6-digit counter kept in the database.
    sms_ticket_prefix: str = Field(default="90", pattern=r"^[1-9][0-9]$")
    # The same sender and text again within this many minutes is a retransmission.
    sms_dedup_minutes: int = Field(default=10, ge=1)
    # The line recorded when an HTTP gateway does not say which number it received on.
    sms_default_line: str = Field(default="082282204761", pattern=r"^\+?[0-9]{3,20}$")
    # SIP path: replies go out as AMI MessageSend on this PJSIP endpoint (the trunk).
    sms_sip_endpoint: str = "trunk"
    # HTTP path: where replies are POSTed ({"number", "text"}, JSON or form); unset means
    # the reply is only returned in the response, for gateways that answer inline.
    sms_reply_url: str = ""
    sms_reply_format: Literal["json", "form"] = "json"
    # Sent as the Authorization header of the reply call, e.g. "Bearer <token>".
    sms_reply_authorization: str = ""
    sms_reply_timeout_seconds: float = 5.0
    # SMS to citizens when their complaint is verified, followed up or closed
    # (api/sms/status_messages.py): sent over "sip" (AMI MessageSend on sms_sip_endpoint),
    # "http" (POSTed to sms_reply_url) or "off" (kept as pending, sent once turned on).
    # Each replica looks for messages to send this often.
    status_sms_via: Literal["sip", "http", "off"] = "sip"
    status_sms_check_seconds: float = Field(default=5.0, gt=0)

    # Retention (UU 27/2022 on personal data protection; docs/operations.md): callers'
    # numbers (calls, complaints, callbacks, SMS, raw events) and recordings older than
    # these many days are purged once a day at retention_time (Asia/Jakarta), by the one
    # replica that claims the day. A year by default: complaints are followed up within
    # weeks, but the city compares a year with the last and answers appeals on a year's
    # calls. At least 90 days, so a typo can't wipe the numbers of complaints still being
    # followed up. Keeping data forever takes retention_enabled=false, said out loud at
    # every start. The recordings' limit defaults to the numbers'.
    retention_enabled: bool = True
    retention_days: int = Field(default=365, ge=90, le=3650)
    retention_recording_days: int | None = Field(default=None, ge=90, le=3650)
    retention_time: time = time(2, 0)
    retention_check_seconds: float = Field(default=300.0, gt=0)
    # Rows per transaction: bounds memory and lock time on a first run over years of data.
    retention_batch: int = Field(default=500, ge=1, le=10_000)

    # Live push (api/live): events are kept this long for reconnecting browsers to catch
    # up from, and each replica re-reads the table this often in case a PostgreSQL
    # notification was missed (a commit in the same process or a NOTIFY wakes it at once).
    live_keep_hours: int = Field(default=24, ge=1, le=24 * 30)
    live_poll_seconds: float = Field(default=5.0, gt=0)

    # Delivery of the daily report (api/reports/delivery.py), once it is made. By email
    # when smtp_host and report_recipients are set; by Telegram when the bot token and
    # chat id are. Each channel is tried up to delivery_attempts times, waiting
    # delivery_base_delay_seconds, then twice that, and so on between attempts.
    smtp_host: str = Field(default="", max_length=253)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str = Field(default="", max_length=256)
    smtp_password: str = Field(default="", max_length=256, repr=False)
    # A file holding the password (a mounted secret); it wins over smtp_password.
    smtp_password_file: Path | None = None
    smtp_from: Annotated[str, Field(max_length=254)] = ""
    # Comma-separated in the environment.
    report_recipients: Annotated[list[EmailAddress], NoDecode, Field(max_length=50)] = []
    telegram_bot_token: str = Field(
        default="", max_length=128, pattern=r"^([0-9]{1,20}:[A-Za-z0-9_-]{20,100})?$", repr=False
    )
    # A numeric chat id (groups are negative) or a channel's @name.
    telegram_chat_id: str = Field(
        default="", max_length=64, pattern=r"^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,32})?$"
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org", max_length=200, pattern=r"^https?://[^\s]+$"
    )
    delivery_attempts: int = Field(default=5, ge=1, le=10)
    delivery_base_delay_seconds: float = Field(default=30.0, gt=0, le=3600)
    delivery_timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @field_validator("report_recipients", mode="before")
    @classmethod
    def _split_recipients(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("ami_peer_hosts")
    @classmethod
    def _peer_hosts(cls, value: str) -> str:
        ami_peers(value)
        return value

    @field_validator("ami_node")
    @classmethod
    def _node_name(cls, value: str) -> str:
        if value and not _NODE.fullmatch(value):
            raise ValueError(f"not a node name: {value!r}")
        return value

    @model_validator(mode="after")
    def _node_names_unique(self) -> ApiSettings:
        names = [peer.node for peer in ami_peers(self.ami_peer_hosts) if peer.node]
        if self.ami_node:
            names.append(self.ami_node)
        if len(names) != len(set(names)):
            raise ValueError("LAPOR_API_AMI_NODE and LAPOR_API_AMI_PEER_HOSTS: a node named twice")
        return self

    @field_validator("transfer_numbers")
    @classmethod
    def _known_transfer_numbers(cls, value: str) -> str:
        transfer_targets(value)
        return value

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.report_recipients)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_chat_id)

    @property
    def upload_max_body_bytes(self) -> int:
        """A request carrying a complaint's attachments: all of them and the form's fields."""
        return self.attachments_max_count * self.attachment_max_bytes + (256 << 10)

    @property
    def recording_retention_days(self) -> int:
        return self.retention_recording_days or self.retention_days

    @property
    def call_end_horizon(self) -> timedelta:
        return timedelta(hours=self.call_end_horizon_hours)

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> ApiSettings:
        # The database URL holds the database password.
        refuse_placeholder(self.database_url, "LAPOR_API_DATABASE_URL", "LAPOR_DB_PASSWORD")
        refuse_placeholder(
            self.ami_control_secret, "LAPOR_API_AMI_CONTROL_SECRET", "LAPOR_AMI_CONTROL_SECRET"
        )
        refuse_placeholder(self.sms_reply_authorization, "LAPOR_API_SMS_REPLY_AUTHORIZATION")
        refuse_placeholder(self.edge_rpc_token, "LAPOR_API_EDGE_RPC_TOKEN", "LAPOR_EDGE_RPC_TOKEN")
        if self.edge_rpc_url and len(self.edge_rpc_token) < 16:
            raise ValueError("LAPOR_API_EDGE_RPC_URL needs LAPOR_API_EDGE_RPC_TOKEN (16+ chars)")
        refuse_placeholder(self.smtp_password, "LAPOR_API_SMTP_PASSWORD")
        return self

    @model_validator(mode="after")
    def _status_sms_has_a_way_out(self) -> ApiSettings:
        if self.status_sms_via == "http" and not self.sms_reply_url:
            raise ValueError("LAPOR_API_STATUS_SMS_VIA=http needs LAPOR_API_SMS_REPLY_URL")
        return self

    @model_validator(mode="after")
    def _delivery_complete(self) -> ApiSettings:
        if self.smtp_password_file is not None:
            password = self.smtp_password_file.read_text().strip()
            if len(password) > 256:
                raise ValueError("LAPOR_API_SMTP_PASSWORD_FILE: over 256 characters")
            self.smtp_password = password
        if self.email_enabled and not re.fullmatch(EMAIL_ADDRESS, self.smtp_from):
            raise ValueError("LAPOR_API_SMTP_FROM: an email address is needed to send email")
        return self


_AMI_PEER = re.compile(
    r"(?:(?P<node>[^=]*)=)?"
    r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?))"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
_NODE = re.compile(NODE_PATTERN[1:-1])


class AmiPeer(NamedTuple):
    host: str
    port: int
    node: str = ""  # its node name, if given


def ami_peers(text: str, default_port: int = 5038) -> list[AmiPeer]:
    """``LAPOR_API_AMI_PEER_HOSTS``: ``[node=]host[:port],…`` (an IPv6 address in
    brackets; a node name as the collector's LAPOR_COLLECTOR_NODE) as AmiPeers;
    ValueError for anything else."""
    peers = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        found = _AMI_PEER.fullmatch(item)
        port = int(found["port"] or default_port) if found else 0
        if found is None or not 0 < port < 65536:
            raise ValueError(f"not an AMI [node=]host[:port]: {item!r}")
        node = found["node"]
        if node is not None and not _NODE.fullmatch(node):
            raise ValueError(f"not a node name: {node!r} in {item!r}")
        peers.append(AmiPeer(found["v6"] or found["host"], port, node or ""))
    return peers
