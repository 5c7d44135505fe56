"""The Procfile's gunicorn settings module (bot.gunicorn_conf): each worker freezes what it loaded."""

from __future__ import annotations

import gc

from gunicorn.app.base import Application
from gunicorn.config import Config

from tests.cli.test_procfile import web_settings


class _ConfigLoader(Application):  # type: ignore[misc]
    """gunicorn's own loading of a --config location into a Config, without an app to serve."""

    def __init__(self, cfg: Config) -> None:  # no super().__init__(): it would parse sys.argv
        self.cfg = cfg


def test_a_worker_freezes_what_loading_the_app_left() -> None:
    config = web_settings({"PORT": "8000"})
    _ConfigLoader(config).load_config_from_module_name_or_filename(config.config)
    loaded = [{"object": n} for n in range(1000)]  # stands for the loaded app's objects
    frozen_before = gc.get_freeze_count()
    try:
        config.post_worker_init(object())  # what gunicorn calls in each worker after loading the app
        assert gc.get_freeze_count() >= frozen_before + len(loaded)
        # A full collection walks the generations, not the frozen: the loaded objects are out of it.
        assert not any(tracked is loaded for tracked in gc.get_objects())
    finally:
        gc.unfreeze()
