"""What the demo leaves behind in its output folder: the files the bot shared, a CSV export
and the channel feed as plain text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.demo.world import World
from bot.devtools.slack_stub import SharedFile

FEED_FILENAME = "feed.txt"


@dataclass
class ArtifactWriter:
    out_dir: Path
    world: World
    written: list[Path] = field(default_factory=list)

    def write_shared_files(self, files: Iterable[SharedFile], shared_at: Mapping[str, datetime]) -> None:
        """Every file the bot uploaded. Generic names get the region and local date added
        (wheel.gif → wheel-amer-2025-06-04-wed.gif); names that say their region stay."""
        regions = {r.channel_id: r for r in self.world.regions}
        for shared in files:
            region = regions.get(shared.channel_id or "")
            when = shared_at.get(shared.file_id)
            parts = [Path(shared.filename).stem]
            if region is not None and region.name.lower() not in shared.filename.lower():
                parts.append(region.name.lower())
                if when is not None:
                    parts.append(when.astimezone(ZoneInfo(region.tz)).strftime("%Y-%m-%d-%a").lower())
            self._write(_safe("-".join(parts)) + Path(shared.filename).suffix, shared.content)

    def write_feed(self, lines: Iterable[str]) -> Path:
        return self._write(FEED_FILENAME, ("\n".join(lines) + "\n").encode("utf-8"))

    def _write(self, name: str, content: bytes) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / _unique(name, {p.name for p in self.written})
        path.write_bytes(content)
        self.written.append(path)
        return path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "file"


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, suffix = Path(name).stem, Path(name).suffix
    counter = 2
    while f"{stem}-{counter}{suffix}" in taken:
        counter += 1
    return f"{stem}-{counter}{suffix}"
