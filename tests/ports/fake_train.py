"""Stands in for `mlops train` behind the job runners: same arguments, same report
(``--report-json -``: one JSON line on stdout, as an ECS task's log carries it).

``--generate 13`` fails like a training error; ``--generate 7`` takes a second.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("command")
parser.add_argument("--generate", type=int)
parser.add_argument("--heldout", type=int)
parser.add_argument("--promote")
parser.add_argument("--quiet", action="store_true")
parser.add_argument("--with-feedback", action="store_true")
parser.add_argument("--report-json")
args = parser.parse_args()
assert args.command == "train"
print("[train] fitting", flush=True)
if args.generate == 13:
    print("mlops train: There is nothing to train on: give --data or --generate N.", flush=True)
    sys.exit(2)
if args.generate == 7:
    time.sleep(1)
report = json.dumps({"version": "5", "promoted": args.promote == "always"})
if args.report_json == "-":
    print(report, flush=True)
else:
    Path(args.report_json).write_text(report)
print("registered version 5", flush=True)
