"""Configuration: one pydantic-settings class, prefix ``AGENTKEEP_``.

Only ``cli.py`` builds ``Settings()`` from the environment; everything else receives the
object, so tests construct it directly and never patch the environment.
"""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The Agentex contract version agentex-sdk checks at start-up (not our package version).
CONTRACT_VERSION = "0.1.0"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENTKEEP_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///agentkeep.db"
    redis_url: str | None = None
    #: Database connections kept open per server process (SQLAlchemy's pool; Postgres).
    db_pool_size: int = Field(20, gt=0, le=500)
    host: str = "127.0.0.1"
    port: int = 5003
    #: ``name:key`` pairs, comma-separated; unset means no authentication.
    api_keys: str | None = None
    sse_ping_seconds: float = Field(15.0, gt=0)
    stream_maxlen: int = Field(10_000, gt=0)
    stream_ttl_seconds: int = Field(3600, ge=0)
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
    #: Entries buffered per SSE viewer before it counts as too slow and is disconnected.
    sse_queue_size: int = Field(1000, gt=0)
    #: Run the deadline sweeper and the outbox relay in this process.
    background_workers: bool = True
    log_level: str = "info"
    #: On SIGTERM, how long open requests (SSE streams included) may take to finish.
    shutdown_grace_seconds: int = Field(5, ge=0)
    #: The server's public base URL: ``webhook_url`` of webhook triggers is built on it.
    public_url: str | None = None
    #: The forward ingress: how long an agent may take to connect and between reads.
    forward_timeout_seconds: float = Field(15.0, gt=0)

    @field_validator("redis_url", "api_keys", "public_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_keys")
    @classmethod
    def _parse_keys(cls, value: str | None) -> str | None:
        if value is not None:
            parse_api_keys(value)
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
        """Configured API keys, key → name."""
        return parse_api_keys(self.api_keys) if self.api_keys else {}

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


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
