"""gunicorn's settings module for the Procfile's `web:` line (`--config python:bot.gunicorn_conf`).

Each worker, once it has loaded the app, moves everything it holds to the garbage collector's
permanent generation (`gc.freeze`). Without it, every full collection walks the ~160,000
objects of the loaded app (Flask, Bolt, SQLAlchemy, the models), 45–120 ms with the GIL held
on 2 busy cores; a batch of 1,000 ingested items leaves enough surviving objects to set one
off every few batches, and every `/pg` being answered by that worker's other threads waits
it out (bench/README.md, "Ingestion"). Frozen, a full collection walks only what requests
made since: 3–11 ms. The frozen objects live as long as the worker anyway.
"""

from __future__ import annotations

import gc


def post_worker_init(worker: object) -> None:
    """gunicorn's hook, in each worker after it loaded the app and before it serves."""
    freeze_loaded_objects()


def freeze_loaded_objects() -> None:
    gc.collect()  # garbage from loading isn't frozen for ever
    gc.freeze()
