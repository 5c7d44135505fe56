"""Configuration from the environment (see PRODUCT.md, "Operating contract")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from models.db import DatabaseTimeouts, normalize_database_url

DEFAULT_DATABASE_FILE = "pipeday.db"  # in the working directory, resolved when settings are read


def default_database_url() -> str:
    return f"sqlite:///{Path(DEFAULT_DATABASE_FILE).absolute()}"


MANIFEST_HINT = (
    "Create the Slack app from manifest.yml (https://api.slack.com/apps → Create New App → "
    "From a manifest), install it to your workspace, then set:\n"
    "  SLACK_BOT_TOKEN       the Bot User OAuth Token (xoxb-…) from OAuth & Permissions\n"
    "  SLACK_SIGNING_SECRET  from Basic Information → App Credentials\n"
    "  SLACK_APP_TOKEN       (optional, Socket Mode) an app-level token (xapp-…) with connections:write\n"
    "Or, to install into many workspaces through Slack's OAuth flow, set SLACK_CLIENT_ID, "
    "SLACK_CLIENT_SECRET (Basic Information → App Credentials), SLACK_SIGNING_SECRET and "
    "PIPEDAY_SECRET_KEY instead of SLACK_BOT_TOKEN."
)
MAKE_A_SECRET_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class ConfigurationError(RuntimeError):
    """Something required is missing or malformed; the message says what and how to fix it."""


@dataclass(frozen=True)
class Settings:
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    database_url: str = field(default_factory=default_database_url)
    slack_api_url: str | None = None
    port: int = 3000
    admins: frozenset[str] = field(default_factory=frozenset)
    # DATABASE_CONNECT_TIMEOUT / DATABASE_STATEMENT_TIMEOUT, in seconds (PostgreSQL).
    database_timeouts: DatabaseTimeouts = field(default_factory=DatabaseTimeouts)
    # PIPEDAY_PUBLIC_URL: the base URL the internet reaches this app at (webhook URLs, links).
    public_url: str | None = None
    # PIPEDAY_SECRET_KEY: a Fernet key that encrypts secrets at rest (bot/domain/secret_box.py).
    secret_key: str | None = None
    # SLACK_CLIENT_ID / SLACK_CLIENT_SECRET: many workspaces through Slack's OAuth flow (bot/installs)
    # instead of SLACK_BOT_TOKEN's one.
    client_id: str | None = None
    client_secret: str | None = None
    # Not from the environment: the workspace an org-wide bot token acts in, when a CLI command
    # acts for one workspace of an Enterprise Grid org (Slack wants team_id on those calls).
    bot_token_team: str | None = None

    @property
    def multi_workspace(self) -> bool:
        """Installed through OAuth into any number of workspaces (SLACK_CLIENT_ID is set),
        rather than one workspace's SLACK_BOT_TOKEN."""
        return bool(self.client_id or self.client_secret)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        port_text = env.get("PORT", "3000")
        if not port_text.isdigit():
            raise ConfigurationError(f"PORT must be a number, got {port_text!r}.")
        api_url = env.get("SLACK_API_URL") or None
        if api_url and not api_url.endswith("/"):
            api_url += "/"  # WebClient joins method names onto the base URL
        defaults = DatabaseTimeouts()
        timeouts = DatabaseTimeouts(
            connect_s=_seconds(env, "DATABASE_CONNECT_TIMEOUT", defaults.connect_s),
            statement_s=_seconds(env, "DATABASE_STATEMENT_TIMEOUT", defaults.statement_s),
        )
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN") or None,
            signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            app_token=env.get("SLACK_APP_TOKEN") or None,
            database_url=normalize_database_url(env.get("DATABASE_URL") or default_database_url()),
            slack_api_url=api_url,
            port=int(port_text),
            admins=frozenset(u.strip() for u in env.get("PIPEDAY_ADMINS", "").split(",") if u.strip()),
            database_timeouts=timeouts,
            public_url=(env.get("PIPEDAY_PUBLIC_URL") or "").strip().rstrip("/") or None,
            secret_key=(env.get("PIPEDAY_SECRET_KEY") or "").strip() or None,
            client_id=(env.get("SLACK_CLIENT_ID") or "").strip() or None,
            client_secret=(env.get("SLACK_CLIENT_SECRET") or "").strip() or None,
        )

    def require_slack(self, socket_mode: bool = False) -> None:
        """Fail fast, naming every missing variable, before anything talks to Slack."""
        if self.multi_workspace:
            self._require_oauth(socket_mode)
            return
        missing = [name for name, value in self._required(socket_mode) if not value]
        if missing:
            raise ConfigurationError(f"Missing {', '.join(missing)}.\n\n{MANIFEST_HINT}")
        if self.bot_token and not self.bot_token.startswith("xoxb-"):
            raise ConfigurationError("SLACK_BOT_TOKEN should start with xoxb- (the Bot User OAuth Token).")
        if socket_mode and self.app_token and not self.app_token.startswith("xapp-"):
            raise ConfigurationError("SLACK_APP_TOKEN should start with xapp- (an app-level token).")

    def _required(self, socket_mode: bool) -> list[tuple[str, str | None]]:
        required = [("SLACK_BOT_TOKEN", self.bot_token)]
        if socket_mode:
            required.append(("SLACK_APP_TOKEN", self.app_token))
        else:
            required.append(("SLACK_SIGNING_SECRET", self.signing_secret))
        return required

    def _require_oauth(self, socket_mode: bool) -> None:
        """Many workspaces: the app's OAuth credentials, the signing secret and a key that
        encrypts every workspace's tokens at rest; never a bot token as well."""
        if self.bot_token:
            raise ConfigurationError(
                "Both SLACK_BOT_TOKEN (one workspace) and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (many workspaces, "
                "installed through Slack's OAuth flow) are set. Remove SLACK_BOT_TOKEN to serve many workspaces, "
                "or remove SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to keep to the token's one workspace."
            )
        if socket_mode:
            raise ConfigurationError(
                "SLACK_APP_TOKEN (Socket Mode) is set with SLACK_CLIENT_ID: installing into many workspaces needs "
                "Pipeday served over HTTP (Slack's OAuth flow redirects browsers to it). Remove SLACK_APP_TOKEN."
            )
        required = [
            ("SLACK_CLIENT_ID", self.client_id),
            ("SLACK_CLIENT_SECRET", self.client_secret),
            ("SLACK_SIGNING_SECRET", self.signing_secret),
        ]
        missing = [name for name, value in required if not value]
        if missing:
            raise ConfigurationError(
                f"Missing {', '.join(missing)}.\n"
                "Many workspaces need the app's Client ID, Client Secret and Signing Secret "
                "(Basic Information → App Credentials)."
            )
        if not self.secret_key:
            raise ConfigurationError(
                "PIPEDAY_SECRET_KEY is not set: with SLACK_CLIENT_ID, every workspace's bot and refresh tokens "
                "are stored encrypted with it.\n"
                f"Make one with: {MAKE_A_SECRET_KEY}\nand keep it: tokens stored with it can't be read without it."
            )
        from cryptography.fernet import Fernet

        try:
            Fernet(self.secret_key.encode("utf-8"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigurationError(
                "PIPEDAY_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes).\n"
                f"Make one with: {MAKE_A_SECRET_KEY}"
            ) from None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 3600:  # also refuses nan and inf
        raise ConfigurationError(f"{name} must be a number of seconds between 0 and 3600, got {text!r}.")
    return value
