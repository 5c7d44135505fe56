"""`pipeday lift` against a real database: the report's lines, the chart file, the refusals,
and a help page that loads neither NumPy nor SciPy."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.db.test_lift import FIRST_DAY, LAST_DAY, seeded
from tests.support.cli import run_pipeday
from tests.support.lift_data import add_people, make_region

AT = "2026-11-27T16:00-05:00"  # Friday 27 Nov 2026, 16:00 in New York


def test_the_report_for_a_region_with_its_chart(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    with session_factory.begin() as session:
        seeded(session, competition_rate=6.0, seed=1)
        make_region(session, "EMEA", "Europe/London")
    chart = tmp_path / "lift.png"
    code, output = run_pipeday(url, "lift", "--region", "amer", "--weeks", "20", "--at", AT, "--chart", str(chart))
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == (
        f"Lift report — AMER (America/New_York), {FIRST_DAY:%a %d %b %Y} – {LAST_DAY:%a %d %b %Y} "
        "(the last 20 weeks and this week so far)"
    )
    assert lines[1] == "20 reps, 0 leaders"
    assert lines[2] == "Connect Day (Thursdays, connects per rep):"
    assert lines[3].startswith("  vs ordinary working days: ")
    assert "— associated with more connects (10 Connect Days vs 94 ordinary working days)" in lines[3]
    assert lines[4].startswith("  vs Thursdays without it: ")
    assert lines[4].endswith("(10 Connect Days vs 11 Thursdays without it)")
    assert lines[5].startswith("  The team's logs in the 14 days after a Connect Day vs after an ordinary working day")
    assert lines[6:9] == [f"    {kind}: none logged after either" for kind in ("meetings", "QBMs", "opps")]
    assert (
        lines[9] == "Leaders (the team's connects per rep, any working day): nobody in this region has the leader role"
    )
    assert "Associations, not proof of cause" in output and "EMEA" not in output
    assert "caus" not in output.replace("proof of cause", "")
    assert lines[-1] == f"Chart: {chart}"
    image = Image.open(io.BytesIO(chart.read_bytes()))
    assert image.format == "PNG" and image.size[0] == 800


def test_every_region_and_not_enough_data(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    url = engine.url.render_as_string(hide_password=False)
    with session_factory.begin() as session:
        seeded(session, competition_rate=6.0, seed=1)
        emea = make_region(session, "EMEA", "Europe/London")
        add_people(session, emea, "leader", 1, "LEAD")
    code, output = run_pipeday(url, "lift", "--at", AT)  # 12 weeks: 10 Connect Days, 3 Thursdays without
    assert code == 0, output
    assert "Lift report — AMER" in output and "Lift report — EMEA" in output
    assert "(the last 12 weeks and this week so far)" in output
    assert (
        "vs Thursdays without it: not enough data yet (10 Connect Days and 3 Thursdays without it so far; "
        "8 of each needed)" in output
    )
    emea_part = output[output.index("Lift report — EMEA") :]
    assert "vs ordinary working days: not enough data yet (0 Connect Days and 0 ordinary working days" in emea_part
    assert "vs Thursdays without it: none in this period" in emea_part
    assert "0 reps, 1 leader\n" in emea_part
    assert "not enough data yet (0 days a leader logged ≥ 1 h and 0 days none did so far" in emea_part


def test_refusals(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    url = engine.url.render_as_string(hide_password=False)
    with session_factory.begin() as session:
        make_region(session)
    code, output = run_pipeday(url, "lift", "--region", "MARS", "--at", AT)
    assert code == 1 and "no region called `MARS`" in output
    code, output = run_pipeday(url, "lift", "--weeks", "0")
    assert code == 2 and "0 is not in the range 1<=x<=52" in output
    code, output = run_pipeday(url, "lift", "--at", "last friday")
    assert code == 2 and "isn't an ISO time" in output


def test_help_loads_neither_numpy_nor_scipy() -> None:
    probe = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from bot.cli.main import cli\n"
        "pages = {}\n"
        "for args in ([], ['lift']):\n"
        "    result = CliRunner().invoke(cli, [*args, '--help'])\n"
        "    heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'scipy', 'matplotlib', 'PIL'))\n"
        "    pages[' '.join(args)] = [result.exit_code, heavy, 'lift' in result.output]\n"
        "print(json.dumps(pages))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == {"": [0, [], True], "lift": [0, [], True]}


def test_the_cli_defaults_are_the_reports() -> None:
    from bot.cli import lift as cli_lift
    from bot.domain import lift as domain_lift

    assert (cli_lift.DEFAULT_WEEKS, cli_lift.MAX_WEEKS) == (domain_lift.DEFAULT_WEEKS, domain_lift.MAX_WEEKS)
