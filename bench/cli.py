"""Start time of the `guanxi` command (issue 11: <= 0.5 s for --help and light
commands; heavy libraries are imported where they are used). Median of --runs."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

COMMANDS = [["--help"], ["token", "--help"], ["createadmin", "--help"], ["worker", "--help"]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    for command in COMMANDS:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "guanxi", *command], check=True,
                           capture_output=True)
            times.append(time.perf_counter() - started)
        print(json.dumps({"name": "cli_start_" + "_".join(c.strip("-") for c in command),
                          "value": round(statistics.median(times), 3), "unit": "s",
                          "runs": [round(t, 3) for t in times], "target": 0.5}), flush=True)


if __name__ == "__main__":
    main()
