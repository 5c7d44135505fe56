"""Every query that reads activities leaves out undone and voided ones (counted_activities()).

A void sets `deleted_at` as an undo does, so a read that leaves out undone logs leaves out
voided ones too. This test reads the source of every module under bot/: a function that
builds a SELECT, UPDATE or DELETE over activities must say how it excludes them (by calling
counted_activities(), by testing deleted_at, or by calling a function of its module that
does); the few that must see every row say why below. A new query that forgets fails here."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
QUERY_BUILDERS = frozenset({"select", "update", "delete"})
EXCLUSION_WORDS = ("counted_activities", "deleted_at")

# (module, function): why it reads activities whatever their state.
SEES_EVERY_ROW = {
    ("bot/domain/activities.py", "_find_by_key"): "a redelivery finds the row its key made, undone or voided",
    ("bot/domain/ingested_store.py", "park"): "an ingested key already used (even by a voided row) is a duplicate",
    (
        "bot/domain/ingested_store.py",
        "refuse_over_caps",
    ): "a key already used (even voided) is a duplicate, not over a cap",
}


def functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


SIMPLE_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Return)


def activity_names(function: ast.AST) -> set[str]:
    """`Activity`, and names the function binds to its table or an alias of it
    (`table = Activity.__table__`, `log = aliased(Activity)`)."""
    names = {"Activity"}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and mentions(node.value, names):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def is_query_call(node: ast.AST) -> bool:
    """select(…) / x.select(…), and SQLAlchemy's update(…) / delete(…) (not a set's .update)."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in QUERY_BUILDERS
    return isinstance(func, ast.Attribute) and func.attr == "select"


def queries_activities(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """One statement of the function both builds a query and names activities."""
    names = activity_names(function)
    return any(
        isinstance(statement, SIMPLE_STATEMENTS)
        and mentions(statement, names)
        and any(is_query_call(n) for n in ast.walk(statement))
        for statement in ast.walk(function)
    )


def called_names(node: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def offenders_in(path: Path, root: Path = BOT.parent) -> list[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    every = list(functions(tree))
    excluding = {
        f.name for f in every if any(word in (ast.get_source_segment(source, f) or "") for word in EXCLUSION_WORDS)
    }
    changed = True
    while changed:  # a function that calls one that excludes them, excludes them too
        before = len(excluding)
        excluding |= {f.name for f in every if called_names(f) & excluding}
        changed = len(excluding) != before
    relative = str(path.relative_to(root))
    return [
        f"{relative}: {f.name}"
        for f in every
        if queries_activities(f) and f.name not in excluding and (relative, f.name) not in SEES_EVERY_ROW
    ]


def test_every_query_over_activities_leaves_out_undone_and_voided_ones() -> None:
    offenders = [name for path in sorted(BOT.rglob("*.py")) for name in offenders_in(path)]
    assert offenders == [], "read activities without counted_activities(): " + ", ".join(offenders)


def test_the_check_catches_a_query_that_forgets(tmp_path: Path) -> None:
    forgetful = tmp_path / "forgetful.py"
    forgetful.write_text(
        "from sqlalchemy import func, select\n"
        "from models import Activity\n"
        "def total(session, member_id):\n"
        "    return session.scalar(select(func.sum(Activity.quantity)).where(Activity.member_id == member_id))\n",
        encoding="utf-8",
    )
    assert offenders_in(forgetful, tmp_path) == ["forgetful.py: total"]


def test_a_helper_that_excludes_them_counts_for_its_callers(tmp_path: Path) -> None:
    source = (
        "from models import Activity\n"
        "def _live():\n"
        "    return (Activity.deleted_at.is_(None),)\n"
        "def rows(session):\n"
        "    return session.execute(select(Activity.id).where(*_live()))\n"
    )
    path = tmp_path / "helper.py"
    path.write_text(source, encoding="utf-8")
    assert offenders_in(path, tmp_path) == []
    path.write_text(source.replace("*_live()", "Activity.member_id == 1"), encoding="utf-8")
    assert offenders_in(path, tmp_path) == ["helper.py: rows"]


def test_the_check_sees_the_queries_it_guards() -> None:
    """Not vacuous: the boards, the log reply's totals (through a table alias), the lift report
    (through an ORM alias), the wallboard and every read behind a surface that
    tests/db/test_voided_everywhere.py checks (App Home's week and sources, the streak, the
    planner, the goal board) are among the queries it looks at."""
    found = {
        f"{path.relative_to(BOT.parent)}:{function.name}"
        for path in sorted(BOT.rglob("*.py"))
        for function in functions(ast.parse(path.read_text(encoding="utf-8")))
        if queries_activities(function)
    }
    assert {
        "bot/domain/boards.py:_totals",
        "bot/domain/activities.py:_totals_statement",
        "bot/domain/lift_data.py:_histograms",
        "bot/domain/wallboard.py:_ticker",
        "bot/domain/summary.py:_week_logs",
        "bot/domain/export.py:_totals",
        "bot/domain/activities.py:member_totals",
        "bot/domain/activity_sources.py:member_source_split",
        "bot/domain/boards.py:_top_standings_per_member",
        "bot/domain/calendar_store.py:_active_dates",
        "bot/domain/goal_store.py:_totals_by_member",
        "bot/domain/goal_board.py:_last_log_times",
        "bot/domain/plan_store.py:activity_totals",
        "bot/domain/lift_data.py:_rep_spans",
        "bot/domain/lift_data.py:_leader_days",
    } <= found
