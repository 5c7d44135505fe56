"""The Procfile's web: line, read the way a platform runs it (a shell expands the variables)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
from gunicorn.config import Config

PROCFILE = Path(__file__).resolve().parents[2] / "Procfile"


def web_settings(env: dict[str, str]) -> Config:
    """gunicorn's configuration for the web: line, with `env` as the platform's environment."""
    line = next(line for line in PROCFILE.read_text().splitlines() if line.startswith("web:"))
    expanded = subprocess.run(
        ["bash", "-c", f"printf '%s\\n' {line.removeprefix('web:').strip()}"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert expanded[0] == "gunicorn"
    config = Config()
    parsed = config.parser().parse_args(expanded[1:])
    for name, value in vars(parsed).items():
        if value is not None and name in config.settings:
            config.set(name, value)
    return config


@pytest.mark.parametrize(("env", "keepalive"), [({}, 5), ({"WEB_KEEPALIVE": "75"}, 75)])
def test_keep_alive_is_set_by_web_keepalive(env: dict[str, str], keepalive: int) -> None:
    config = web_settings({"PORT": "8000", **env})
    assert config.keepalive == keepalive


def test_the_rest_of_the_web_line_is_unchanged_by_it() -> None:
    config = web_settings({"PORT": "8000", "WEB_KEEPALIVE": "75", "WEB_CONCURRENCY": "3", "WEB_THREADS": "6"})
    assert (config.workers, config.threads, config.timeout, config.bind) == (3, 6, 30, ["0.0.0.0:8000"])
    assert config.worker_class_str == "gthread"
    assert shlex.split(PROCFILE.read_text())[0] == "release:"
