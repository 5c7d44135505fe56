"""Arrows point one way: the scheduler uses the posting code; posting never imports the scheduler."""

from __future__ import annotations

import ast
from pathlib import Path


def test_posting_imports_nothing_from_the_scheduler() -> None:
    posting = Path(__file__).resolve().parents[2] / "bot" / "posting"
    offenders = []
    for path in sorted(posting.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.name}: {name}" for name in names if name.startswith("bot.scheduler")]
    assert offenders == []
