"""Every setting of the app, read from the environment (or `.env`). Nothing else reads os.environ."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BACKEND_DIR = Path(__file__).resolve().parents[2]
WEAK_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development"}


class Settings(BaseSettings):
    # The repo's .env (shared with docker compose), then backend/.env; the environment wins over both.
    # env_ignore_empty: `SECRET_KEY=` in a copied .env.example means "not set", never an empty key.
    model_config = SettingsConfigDict(
        env_file=(BACKEND_DIR.parent / ".env", BACKEND_DIR / ".env"), extra="ignore", env_ignore_empty=True
    )

    env: Literal["development", "production"] = "development"
    secret_key: SecretStr | None = None
    data_dir: Path = BACKEND_DIR / "data"
    database_url: str = ""  # empty: SQLite at {data_dir}/chat.db
    # false (several replicas): never migrate at start; a schema that is not current stops the start-up
    # (the migrations run once, `python -m app.cli migrate`, before the replicas start).
    migrate_on_start: bool = True
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"
    # GET /metrics (Prometheus) answers only with `Authorization: Bearer <this>`; unset: off (404, nothing collected).
    metrics_token: SecretStr | None = None

    # Auth
    allow_signup: bool = True
    token_ttl_days: int = Field(7, ge=1, le=365)
    login_rate_limit: str = "10/minute"
    login_ip_rate_limit: str = "30/minute"

    # HTTP
    cors_origins: Annotated[list[str], NoDecode] = []
    max_body_bytes: int = 256 * 1024
    static_dir: Path | None = None  # built web app; default ../frontend/dist when it exists

    # Chat
    max_message_chars: int = Field(32_000, ge=1)
    chat_rate_limit: str = "30/minute"
    user_daily_messages: int = Field(0, ge=0)  # 0 = no quota
    user_daily_tokens: int = Field(0, ge=0)  # replies' and titles' tokens per UTC day; 0 = no quota
    user_monthly_tokens: int = Field(0, ge=0)  # per calendar month (UTC); 0 = no quota
    # USD per million tokens, input/output, for the admin's cost estimate: "gemini-2.5-flash=0.30/2.50,m2=1/4".
    model_prices: Annotated[dict[str, tuple[float, float]], NoDecode] = {}
    chat_history_tokens: int = Field(6_000, ge=100)
    chat_history_max_messages: int = Field(200, ge=2)
    system_prompt: str = "You are Conversa, a helpful, concise assistant. Answer in the language the user writes in."
    redis_url: str | None = None
    redis_key_prefix: str = Field("conversa", pattern=r"^[A-Za-z0-9:_-]{1,64}$")  # every Redis key starts with it
    max_jobs_per_user: int = Field(3, ge=1)  # replies being generated at once per user (429 past it)
    # Replies already streaming pause at most this long while new chats are admitted (app.services.admissions).
    admission_max_pause_ms: float = Field(500.0, ge=0, le=10_000)

    # Server-sent events
    sse_heartbeat_s: float = Field(15.0, gt=0)  # a `: ping` comment after this much silence
    sse_send_timeout_s: float = Field(30.0, gt=0)  # a client that stops reading for this long loses the stream

    # Share links and personal API keys (the OpenAI-compatible /v1 endpoint)
    allow_sharing: bool = True  # false: no new links, and existing links answer 404
    allow_api_keys: bool = True  # false: no new keys, and existing keys are refused
    shared_ip_rate_limit: str = "60/minute"  # GET /api/shared/{id}, per client address
    public_url: str | None = None  # the web app's origin in share links; default: the request's own

    # Uploads (attachments)
    upload_max_bytes: int = Field(10 * 1024 * 1024, ge=1)
    upload_user_quota_mb: int = Field(200, ge=0)  # 0 = no quota
    uploads_per_message: int = Field(5, ge=1, le=50)
    upload_image_max_pixels: int = Field(25_000_000, ge=1)  # larger images are refused before decoding
    uploads_unattached_hours: float = Field(24.0, gt=0)  # uploads never sent in a message are removed after this
    uploads_s3_bucket: str | None = None  # empty: files under {data_dir}/uploads
    uploads_s3_prefix: str = "conversa/uploads/"

    # Backups (python -m app.cli backup)
    backup_dir: Path | None = None  # default {data_dir}/backups
    backup_keep: int = Field(14, ge=0)  # local backups kept; 0 = keep all
    backup_s3_bucket: str | None = None
    backup_s3_prefix: str = "conversa/backups/"
    aws_endpoint_url: str | None = None  # an S3-compatible endpoint (tests use moto_server)

    # LLM
    llm_provider: Literal["auto", "gemini", "openai", "ollama", "local", "fake"] = "auto"
    llm_timeout_s: float = Field(60.0, gt=0)
    llm_max_retries: int = Field(2, ge=1, le=10)
    google_api_key: SecretStr | None = None
    gemini_model: str | None = None  # the default Gemini model; unset: the first of GEMINI_MODELS
    gemini_models: Annotated[list[str], NoDecode] = ["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro"]
    gemini_thinking_budget: int = Field(-1, ge=-1, le=32_768)  # with thinking on; -1: dynamic (the model decides)
    gemini_base_url: str | None = None  # a Gemini-compatible endpoint (tests use a local fake)
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_models: Annotated[list[str], NoDecode] = []  # offered besides OPENAI_MODEL (when OPENAI_API_KEY is set)
    ollama_base_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.2"
    ollama_enabled: bool = False  # list the Ollama server's models also when LLM_PROVIDER is another
    ollama_tags_ttl_s: float = Field(60.0, ge=0)  # how long the Ollama model list is cached
    fake_llm_delay_ms: float = Field(20.0, ge=0)
    local_model_path: Path | None = None  # default: {BACKEND_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf
    local_threads: int = Field(0, ge=0)  # 0 = one core less than the machine has, at most 4
    local_context: int = Field(2048, ge=256)
    local_max_tokens: int = Field(512, ge=1)
    local_max_queue: int = Field(8, ge=1)

    @field_validator("cors_origins", "gemini_models", "openai_models", mode="before")
    @classmethod
    def split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("model_prices", mode="before")
    @classmethod
    def parse_prices(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        prices: dict[str, tuple[float, float]] = {}
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            model, _, pair = item.partition("=")
            given, _, taken = pair.partition("/")
            try:
                price = (float(given), float(taken))
            except ValueError:
                raise ValueError(
                    f"MODEL_PRICES: {item!r} is not model=input/output (USD per million tokens), "
                    "e.g. gemini-2.5-flash=0.30/2.50"
                ) from None
            if not model.strip() or min(price) < 0:
                raise ValueError(f"MODEL_PRICES: {item!r} needs a model name and prices of 0 or more")
            prices[model.strip()] = price
        return prices

    @model_validator(mode="after")
    def require_strong_secret_in_production(self) -> Settings:
        if self.env == "production":
            key = self.secret_key.get_secret_value() if self.secret_key else ""
            if key.lower() in WEAK_SECRETS or len(key) < 32:
                raise ValueError(
                    "SECRET_KEY must be set to a random string of at least 32 characters when ENV=production"
                )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'chat.db'}"

    @property
    def default_gemini_model(self) -> str:
        return self.gemini_model or (self.gemini_models[0] if self.gemini_models else "gemini-2.5-flash")

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def default_local_model_path(self) -> Path:
        return self.local_model_path or BACKEND_DIR / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"

    @property
    def web_dir(self) -> Path | None:
        candidate = self.static_dir or BACKEND_DIR.parent / "frontend" / "dist"
        return candidate if (candidate / "index.html").is_file() else None

    def signing_key(self) -> str:
        """The JWT key; in development a random one is made once and kept in the data folder."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        key_file = self.data_dir / ".secret_key"
        if not key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
