"""The dedupe keys of flags this process raised lately, shared by the checks after a typed log
and after an ingested batch: a member-day already flagged is neither drafted nor read again.
Bounded (the oldest go first) and safe to share between threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

REMEMBERED_FLAGS = 10_000


class RaisedFlags:
    def __init__(self, limit: int = REMEMBERED_FLAGS) -> None:
        self._limit = limit
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def known(self, key: str) -> bool:
        with self._lock:
            return key in self._keys

    def remember(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._keys[key] = None
            while len(self._keys) > self._limit:
                self._keys.popitem(last=False)
