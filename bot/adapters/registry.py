"""Which webhook kinds exist and where their adapters are: `bot/adapters/<kind>.py`, each with a
module-level `ADAPTER`, found lazily so a vendor's module is only imported when a delivery or a
command needs it, and a kind whose module isn't written yet is "not built" rather than an error.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot.adapters.base import Adapter

logger = logging.getLogger(__name__)

KNOWN_KINDS: tuple[str, ...] = ("generic", "hubspot", "outreach", "salesloft", "aircall")

# Adapters registered at run time (tests' stub vendors); they win over the modules.
_registered: dict[str, Adapter] = {}


def adapter_for(kind: str) -> Adapter | None:
    """The kind's adapter, or None when it's unknown or its module isn't there yet."""
    if kind in _registered:
        return _registered[kind]
    if kind not in KNOWN_KINDS:
        return None
    module_name = f"bot.adapters.{kind}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return None
        raise  # the module is there but imports something missing: that's a bug to see
    adapter: Adapter | None = getattr(module, "ADAPTER", None)
    if adapter is None:
        logger.warning("%s has no ADAPTER: the %s kind counts as not built", module_name, kind)
    return adapter


def is_known(kind: str) -> bool:
    return kind in KNOWN_KINDS or kind in _registered


def built_kinds() -> list[str]:
    """Every kind whose adapter can be loaded now, known kinds first."""
    extra = [kind for kind in _registered if kind not in KNOWN_KINDS]
    return [kind for kind in (*KNOWN_KINDS, *extra) if adapter_for(kind) is not None]


@contextmanager
def registered(adapter: Adapter) -> Iterator[Adapter]:
    """Make `adapter` the one for its kind while the block runs (tests' stand-in vendors)."""
    previous = _registered.get(adapter.kind)
    _registered[adapter.kind] = adapter
    try:
        yield adapter
    finally:
        if previous is None:
            del _registered[adapter.kind]
        else:
            _registered[adapter.kind] = previous
