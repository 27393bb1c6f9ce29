"""Configuration: one pydantic-settings class, prefix ``AGENTKEEP_``.

Only ``cli.py`` builds ``Settings()`` from the environment; everything else receives the
object, so tests construct it directly and never patch the environment.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentkeep import keys

#: The Agentex contract version agentex-sdk checks at start-up (not our package version).
CONTRACT_VERSION = "0.1.0"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENTKEEP_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///agentkeep.db"
    redis_url: str | None = None
    #: Database connections kept open per server process (SQLAlchemy's pool; Postgres).
    db_pool_size: int = Field(20, gt=0, le=500)
    #: Bound on opening a database connection.
    db_connect_timeout_seconds: float = Field(5.0, gt=0)
    #: Bound on each database command and statement, and on waiting for a pooled
    #: connection: a stalled database fails requests with 503 after this, never hangs them.
    db_timeout_seconds: float = Field(10.0, gt=0)
    host: str = "127.0.0.1"
    port: int = 5003
    #: ``name:key`` pairs, comma-separated; unset means no authentication.
    api_keys: str | None = None
    sse_ping_seconds: float = Field(15.0, gt=0)
    stream_maxlen: int = Field(10_000, gt=0)
    stream_ttl_seconds: int = Field(3600, ge=0)
    #: In-memory bus only: event text all task streams together may hold (oldest go first).
    stream_max_bytes: int = Field(64 * 1024 * 1024, gt=0)
    agent_timeout_seconds: float = Field(60.0, gt=0)
    agent_connect_timeout_seconds: float = Field(10.0, gt=0)
    agent_stream_timeout_seconds: float = Field(300.0, gt=0)
    max_body_bytes: int = Field(16 * 1024 * 1024, gt=0)
    default_task_timeout_seconds: float | None = Field(None, gt=0)
    #: How often each process looks for tasks past their deadline.
    sweep_interval_seconds: float = Field(0.5, gt=0)
    #: How long an ``Idempotency-Key`` replays its first response.
    idempotency_ttl_seconds: int = Field(24 * 3600, gt=0)
    #: How often the outbox relay looks for rows nobody woke it for (other processes).
    outbox_poll_seconds: float = Field(1.0, gt=0)
    #: SSE viewers one process accepts; more get 503. ``serve`` lowers it to what the
    #: open-file limit allows (and logs it).
    max_viewers: int = Field(5000, gt=0)
    #: Entries buffered per SSE viewer before it counts as too slow and is disconnected.
    sse_queue_size: int = Field(1000, gt=0)
    #: Run the deadline sweeper and the outbox relay in this process.
    background_workers: bool = True
    log_level: str = "info"
    #: ``text`` for people, ``json`` for log shippers (one object per line).
    log_format: Literal["text", "json"] = "text"
    #: One log line per request (method, route, status, latency, request id).
    access_log: bool = False
    #: Origins allowed to call the API from a browser, comma-separated (``*`` for any).
    cors_origins: str | None = None
    #: How often each process checks that the database and Redis answer (logged on change).
    dependency_check_seconds: float = Field(5.0, gt=0)
    #: Set by ``serve --workers N`` (prometheus-client's multiprocess mode).
    metrics_multiprocess_dir: str | None = Field(None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    #: On SIGTERM, how long open requests (SSE streams included) may take to finish.
    shutdown_grace_seconds: int = Field(5, ge=0)
    #: Agent keys are derived from it, so the database alone cannot reproduce them.
    agent_key_secret: SecretStr | None = None
    #: ``/metrics`` answers only callers presenting a configured API key.
    metrics_require_key: bool = False
    #: ``serve``: an idle keep-alive connection is closed after this many seconds.
    keepalive_timeout_seconds: int = Field(5, gt=0)
    #: ``serve``: the most connections and requests (SSE viewers included) one process
    #: holds; beyond it a request is answered 503 at once.
    max_connections: int = Field(10000, gt=0)
    #: Run the schedule loop in this process (claims due schedules, runs their fires).
    scheduler_enabled: bool = True
    #: How often the schedule loop looks for due schedules when none is due sooner.
    scheduler_poll_seconds: float = Field(1.0, gt=0)
    #: A missed cadence time older than this is recorded as skipped instead of fired.
    schedule_catchup_seconds: int = Field(86_400, ge=0)
    #: How long a fire belongs to the process running it before another may resume it.
    schedule_lease_seconds: float = Field(120.0, gt=0)

    #: Retention URLs (``upload_url``, ``snapshot_url``) may resolve to private addresses.
    retention_allow_private_urls: bool = False
    #: The retention sweep's schedule (five-field cron, UTC); unset: no sweep.
    retention_sweep_cron: str | None = None
    #: Comma-separated agent names whose tasks the sweep cleans; empty: none.
    retention_agents: str = ""
    retention_idle_days: int = Field(7, ge=1)
    #: RUNNING tasks idle this many days count as abandoned (0: never).
    retention_stale_running_days: int = Field(0, ge=0)
    #: The sweep only checks and logs what it would clean.
    retention_dry_run: bool = True

    #: The server's public base URL: ``webhook_url`` of webhook triggers is built on it.
    public_url: str | None = None
    #: The forward ingress: how long an agent may take to connect and between reads.
    forward_timeout_seconds: float = Field(15.0, gt=0)

    @field_validator(
        "redis_url",
        "api_keys",
        "agent_key_secret",
        "cors_origins",
        "retention_sweep_cron",
        "public_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_keys")
    @classmethod
    def _parse_keys(cls, value: str | None) -> str | None:
        if value is not None:
            parse_api_keys(value)
        return value

    @field_validator("agent_key_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError(
                "AGENTKEEP_AGENT_KEY_SECRET must be at least 32 characters; generate one with "
                "python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        return value

    @model_validator(mode="after")
    def _metrics_key_needs_keys(self) -> Settings:
        if self.metrics_require_key and not self.api_keys:
            raise ValueError(
                "AGENTKEEP_METRICS_REQUIRE_KEY needs AGENTKEEP_API_KEYS: set API keys or unset it"
            )
        return self

    @field_validator("retention_sweep_cron")
    @classmethod
    def _five_field_cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from croniter import croniter  # only when a sweep is configured

        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(
                "AGENTKEEP_RETENTION_SWEEP_CRON must be a five-field cron expression "
                "such as '0 4 * * *' (UTC)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "AGENTKEEP_DATABASE_URL must start with sqlite+aiosqlite:// or "
                "postgresql+asyncpg://"
            )
        return value

    @cached_property
    def api_key_map(self) -> dict[str, str]:
        """Configured API keys, key → name. To match a presented key use ``api_key_set``."""
        return parse_api_keys(self.api_keys) if self.api_keys else {}

    @cached_property
    def api_key_set(self) -> keys.ApiKeys:
        """The configured API keys, matched in constant time."""
        return keys.ApiKeys(self.api_key_map)

    @property
    def agent_key_secret_bytes(self) -> bytes:
        """The secret agent keys are derived from (empty when unset)."""
        secret = self.agent_key_secret
        return secret.get_secret_value().encode() if secret is not None else b""

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in (self.cors_origins or "").split(",") if o.strip()]


#: Values that look like someone forgot to set a real secret.
_PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "password", "key", "apikey"})


def parse_api_keys(raw: str) -> dict[str, str]:
    """Parse ``name:key,name:key`` into key → name, refusing malformed or placeholder keys."""
    keys: dict[str, str] = {}
    for pair in raw.split(","):
        name, sep, key = pair.strip().partition(":")
        if not sep or not name or not key:
            raise ValueError(f"AGENTKEEP_API_KEYS entry {pair.strip()!r} is not name:key")
        if key.lower() in _PLACEHOLDERS or len(key) < 8:
            raise ValueError(
                f"API key for {name!r} is a placeholder or shorter than 8 characters; "
                "set a real secret"
            )
        keys[key] = name
    return keys
