"""Benchmark: render the prize-wheel GIF (480 px, 48 frames, 6 prizes) N times.

Run from the repository root:

    python bench/wheel_gif.py --runs 30

Targets: each GIF <= 1 MB and <= 0.5 s per render on a 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

SIZE_LIMIT_BYTES = 1_000_000
TIME_LIMIT_SECONDS = 0.5
LABELS = ("Cowboy boots", "Gift card $50", "Lunch with the CRO", "Extra PTO day", "Company hoodie", "Mystery box")
ODDS = (0.1, 0.2, 0.15, 0.05, 0.3, 0.2)


def run(runs: int) -> tuple[list[float], list[int]]:
    from bot.render.wheel_gif import render_wheel_gif

    seconds: list[float] = []
    sizes: list[int] = []
    for run_index in range(runs):
        winner = run_index % len(LABELS)
        jitter = (run_index * 0.37) % 1.0  # vary the landing spot like real spins
        started = time.perf_counter()
        gif = render_wheel_gif(LABELS, ODDS, winner, size=480, frames=48, jitter=jitter)
        seconds.append(time.perf_counter() - started)
        sizes.append(len(gif))
    return seconds, sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="number of renders (default 30)")
    args = parser.parse_args()
    # Make `python bench/wheel_gif.py` work from the repo root without installing.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.harness import percentile

    seconds, sizes = run(args.runs)
    mean_s, p95_s = statistics.fmean(seconds), percentile(seconds, 0.95)
    print(f"renders: {args.runs} (480 px, 48 frames, {len(LABELS)} prizes)")
    print(f"time: mean {mean_s * 1000:.0f} ms, p95 {p95_s * 1000:.0f} ms (limit {TIME_LIMIT_SECONDS * 1000:.0f} ms)")
    print(
        f"size: mean {statistics.fmean(sizes) / 1000:.0f} kB, max {max(sizes) / 1000:.0f} kB (limit {SIZE_LIMIT_BYTES / 1000:.0f} kB)"
    )
    within = p95_s <= TIME_LIMIT_SECONDS and max(sizes) <= SIZE_LIMIT_BYTES
    print("OK" if within else "OVER TARGET")
    return 0 if within else 1


if __name__ == "__main__":
    raise SystemExit(main())
