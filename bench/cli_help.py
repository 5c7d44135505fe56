"""Benchmark: how long `pipeday --help` and every `pipeday <verb> --help` take, as a person
typing them would wait (a fresh process each time; the target is under 0.3 s).

    python bench/cli_help.py [--runs 7]

Prints the median and the slowest wall time of each, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.3
PIPEDAY = Path(sys.executable).with_name("pipeday")


def verbs() -> list[list[str]]:
    """`[]` for `pipeday --help`, then every group and command `pipeday --help` lists."""
    from click import Group

    from bot.cli.main import cli

    found: list[list[str]] = [[]]

    def walk(group: Group, path: list[str]) -> None:
        context = cli.make_context("pipeday", ["--help"], resilient_parsing=True)
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            found.append([*path, name])
            if isinstance(command, Group):
                walk(command, [*path, name])

    walk(cli, [])
    return found


def time_help(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([str(PIPEDAY), *args, "--help"], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"pipeday {' '.join(args)} --help failed: {done.stderr.strip()[-500:]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs per command (default 7)")
    options = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'command':<40} {'median ms':>10} {'max ms':>8}")
    slow = []
    for args in verbs():
        times = time_help(args, options.runs)
        median = statistics.median(times)
        label = " ".join(["pipeday", *args, "--help"])
        print(f"{label:<40} {median * 1000:>10.0f} {max(times) * 1000:>8.0f}")
        if median >= TARGET_S:
            slow.append(label)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("OK" if not slow else f"over {TARGET_S} s (median): {', '.join(slow)}")


if __name__ == "__main__":
    main()
