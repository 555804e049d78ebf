"""The gate's configuration: account, region, the credentials table and the optional features.

A config file is JSON (`.json`) or TOML (`.toml`). Every problem is reported as one line naming
the file and the member, never a traceback:

    {"account": "123456789012", "region": "us-east-1",
     "credentials": {"AKIDALICE": {"principal": "arn:aws:iam::123456789012:user/alice",
                                   "secret_key": "...", "identity_policies": ["alice.json"]}},
     "throttle_rps": 50, "decision_log": "decisions.jsonl"}
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from rumpolicy.gate.context import Identity
from rumpolicy.gate.validation import DEFAULT_MAX_BODY, member_path
from rumpolicy.policy import Policy, PolicyError, load_policy

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_MAX_APP_MONITORS = 20
"""RUM's quota of app monitors per account and Region (aws-facts.md, section 2)."""
Synchronous = Literal["normal", "full"]


class ConfigError(ValueError):
    """A configuration problem, as one line naming the file and the member."""


@dataclass(frozen=True, slots=True)
class Credential:
    """One row of the credentials table."""

    access_key: str
    principal: str
    secret_key: str | None = None
    """None: the key is trusted without checking the signature."""
    session_token: str | None = None
    """When set, a signed call must carry this X-Amz-Security-Token."""
    identity_policies: tuple[Policy, ...] = ()

    def identity(self) -> Identity:
        return Identity(self.principal, self.identity_policies, self.access_key)


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """How long the server waits for a client, and how many connections it holds."""

    head_timeout: float = 10.0
    """Seconds from the connection opening (or the previous answer) to a complete request head."""
    body_timeout: float = 30.0
    """Seconds from the head to the end of the request body."""
    keep_alive_timeout: float = 5.0
    """Seconds an idle keep-alive connection stays open."""
    max_connections: int | None = None
    """None: the open-file limit less FD_RESERVE."""
    max_head_bytes: int = 16 * 1024
    """A request head larger than this is a 400 (h11's own default)."""


@dataclass(frozen=True, slots=True)
class GateConfig:
    account: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    credentials: Mapping[str, Credential] = field(default_factory=dict)
    throttle_rps: float | None = None
    """PutRumEvents requests per second for the account and region; None: no quota (RUM's
    default quota is 50)."""
    trust_forwarded_for: bool = False
    """Take aws:SourceIp from X-Forwarded-For: only behind a proxy that sets it."""
    behind_tls_proxy: bool = False
    """Every call arrived over TLS at a proxy in front of the gate: aws:SecureTransport=true."""
    decision_log: Path | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    synchronous: Synchronous = "normal"
    cors_allow_origin: str = "*"
    max_clock_skew: int = 900
    """Seconds a signed call's X-Amz-Date may differ from the gate's clock (AWS: 15 minutes)."""
    max_app_monitors: int | None = DEFAULT_MAX_APP_MONITORS
    """CreateAppMonitor beyond this is ServiceQuotaExceededException; None: no quota."""
    server: ServerLimits = ServerLimits()
    """How `rumpolicy serve` treats slow clients (gate/server.py)."""


_LIMITS = ServerLimits()
_Account = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
_Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")]


class _CredentialFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    principal: str
    secret_key: str | None = None
    session_token: str | None = None
    identity_policies: list[str | dict[str, Any]] = []


class _ConfigFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    account: _Account = DEFAULT_ACCOUNT
    region: _Region = DEFAULT_REGION
    credentials: dict[str, _CredentialFile] = {}
    throttle_rps: Annotated[float, Field(gt=0)] | None = None
    trust_forwarded_for: bool = False
    behind_tls_proxy: bool = False
    decision_log: str | None = None
    max_body_bytes: Annotated[int, Field(ge=1024)] = DEFAULT_MAX_BODY
    synchronous: Synchronous = "normal"
    cors_allow_origin: str = "*"
    max_clock_skew: Annotated[int, Field(ge=0)] = 900
    max_app_monitors: Annotated[int, Field(ge=1)] | None = DEFAULT_MAX_APP_MONITORS
    head_timeout: Annotated[float, Field(gt=0)] = _LIMITS.head_timeout
    body_timeout: Annotated[float, Field(gt=0)] = _LIMITS.body_timeout
    keep_alive_timeout: Annotated[float, Field(ge=1)] = _LIMITS.keep_alive_timeout
    max_connections: Annotated[int, Field(ge=1)] | None = None


def load_config(path: str | Path) -> GateConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the config file: {err}") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: not valid {path.suffix.lstrip('.').upper() or 'JSON'}: "
                          f"{err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be an object of settings")
    return config_from_mapping(data, path)


def config_from_mapping(data: Mapping[str, Any], source: Path | None = None) -> GateConfig:
    """Build a GateConfig from the file's shape; relative paths are read from `source`'s folder."""
    where = f"{source}: " if source else ""
    try:
        parsed = _ConfigFile.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        raise ConfigError(f"{where}{member_path(first['loc'])}: {first['msg']}") from None
    base = source.parent if source else Path.cwd()
    credentials = {}
    for key, entry in parsed.credentials.items():
        credentials[key] = _credential(key, entry, base, where)
    log = None if parsed.decision_log is None else base / parsed.decision_log
    return GateConfig(
        account=parsed.account, region=parsed.region, credentials=credentials,
        throttle_rps=parsed.throttle_rps, trust_forwarded_for=parsed.trust_forwarded_for,
        behind_tls_proxy=parsed.behind_tls_proxy, decision_log=log,
        max_body_bytes=parsed.max_body_bytes, synchronous=parsed.synchronous,
        cors_allow_origin=parsed.cors_allow_origin, max_clock_skew=parsed.max_clock_skew,
        max_app_monitors=parsed.max_app_monitors,
        server=ServerLimits(head_timeout=parsed.head_timeout, body_timeout=parsed.body_timeout,
                            keep_alive_timeout=parsed.keep_alive_timeout,
                            max_connections=parsed.max_connections))


def _credential(key: str, entry: _CredentialFile, base: Path, where: str) -> Credential:
    from rumpolicy.engine import Request

    member = f"credentials.{key}"
    try:
        Request(resource=f"arn:aws:rum:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:appmonitor/x",
                principal=entry.principal)
    except ValueError as err:
        raise ConfigError(f"{where}{member}.principal: {err}") from None
    policies = []
    for n, source in enumerate(entry.identity_policies):
        label = f"{member}.identity_policies[{n}]"
        if isinstance(source, str):
            file = base / source
            try:
                source = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise ConfigError(f"{where}{label}: cannot read {file}: {err}") from None
            label = f"{label} ({file})"
        try:
            policies.append(load_policy(source, kind="identity"))
        except PolicyError as err:
            raise ConfigError(f"{where}{label}: {err.diagnostics[0].format()}") from None
    return Credential(key, entry.principal, entry.secret_key, entry.session_token,
                      tuple(policies))
