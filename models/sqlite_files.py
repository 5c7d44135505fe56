"""Where a SQLite database lives on disk, for the code that must not create it by accident."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL keeps its database in; None for other databases, `:memory:` and
    `?uri=true` URLs (whose `database` is a URI, not a path)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query.get("uri"):
        return None
    return Path(str(url.database)).expanduser()


def missing_sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names, when it isn't there yet: connecting would create an empty
    one, and only `pipeday db upgrade` should (doctor and the CLI report it instead)."""
    path = sqlite_file(url)
    return path if path is not None and not path.exists() else None
