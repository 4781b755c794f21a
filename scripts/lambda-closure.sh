#!/usr/bin/env bash
# P5: how big is the API Lambda's dependency closure, unzipped, against the 200 MB goal?
#
# Installs what a zip-packaged API function would ship: this project (a built wheel, not an
# editable install) with its `aws` extra, plus awslambdaric, for the Lambda platform
# (CPython 3.12, manylinux x86_64 up to glibc 2.34 = Amazon Linux 2023), binary wheels only,
# into a fresh folder under build/. Then prints the size and the 10 largest distributions.
# Needs PyPI. Usage: scripts/lambda-closure.sh  (or `make lambda-size`).
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PY:-.venv/bin/python}"
GOAL_MB="${GOAL_MB:-200}"
OUT=build/lambda-closure
WHEELS=build/lambda-wheel

rm -rf "$OUT" "$WHEELS"
mkdir -p "$OUT" "$WHEELS"

# pip expands manylinux2014 to 2010 and 1 by itself, not the PEP 600 tags: list them.
platforms=(--platform manylinux2014_x86_64)
for minor in $(seq 34 -1 17); do
    platforms+=(--platform "manylinux_2_${minor}_x86_64")
done

echo "building the project wheel"
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELS" .
wheel="$(ls "$WHEELS"/mlops_multicloud-*.whl)"

echo "installing ${wheel##*/}[aws] + awslambdaric for cp312 manylinux x86_64 into $OUT"
# pip's closing conflict check compares with the venv running pip, not the target: dropped,
# like the notices about this machine's extra local indexes.
"$PY" -m pip install --quiet --disable-pip-version-check \
    --target "$OUT" --only-binary=:all: "${platforms[@]}" \
    --implementation cp --python-version 3.12 --abi cp312 \
    "${wheel}[aws]" awslambdaric \
    2> >(grep -v -e "is ignored: it is neither a file nor a directory" \
        -e "dependency resolver does not currently take into account" \
        -e "which is incompatible" >&2)

"$PY" - "$OUT" "$GOAL_MB" <<'PYEOF'
"""Size of the closure per distribution (the files each RECORD lists, .pyc included), and
how much of it is there only because of the mlflow requirement."""
import csv
import re
import sys
from email.parser import Parser
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement

root, goal = Path(sys.argv[1]), float(sys.argv[2])
MB = 1024 * 1024
LAMBDA = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux",
          "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
          "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def size(path: Path) -> int:
    return path.stat().st_size if path.is_file() and not path.is_symlink() else 0


total = sum(size(p) for p in root.rglob("*"))
no_pyc = sum(size(p) for p in root.rglob("*") if "__pycache__" not in p.parts)
dists: dict[str, tuple[str, int, list[str]]] = {}  # canonical -> (label, bytes, requires)
claimed: set[Path] = set()
for info in root.glob("*.dist-info"):
    meta = Parser().parsestr((info / "METADATA").read_text(errors="replace"))
    files = {(root / row[0]).resolve() for row in csv.reader((info / "RECORD").open()) if row}
    files -= claimed  # pip lists the .pyc it compiles too; count each file once
    claimed |= files
    label = f"{meta['Name']} {meta['Version']}"
    dists[canonical(meta["Name"])] = (label, sum(size(f) for f in files if f.exists()),
                                      meta.get_all("Requires-Dist") or [])
unclaimed = total - sum(n for _, n, _ in dists.values())


def closure(roots: list[tuple[str, frozenset[str]]]) -> set[str]:
    """Distributions reachable from (name, extras) through Requires-Dist, Lambda's markers."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = list(roots)
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen or name not in dists:
            continue
        seen.add((name, extras))
        for line in dists[name][2]:
            req = Requirement(line)
            wanted = req.marker is None or any(
                req.marker.evaluate({**LAMBDA, "extra": extra}) for extra in (*extras, "")
            )
            if wanted:
                todo.append((canonical(req.name), frozenset(req.extras)))
    return {name for name, _ in seen}


project = [(canonical(Requirement(line).name), frozenset(Requirement(line).extras))
           for line in dists["mlops-multicloud"][2]
           if Requirement(line).marker is None
           or Requirement(line).marker.evaluate({**LAMBDA, "extra": "aws"})]
everything = closure([*project, ("mlops-multicloud", frozenset()), ("awslambdaric", frozenset())])
without = closure([r for r in project if r[0] != "mlflow"] + [("awslambdaric", frozenset())])
mlflow_only = sorted(everything - without - {"mlops-multicloud"},
                     key=lambda d: dists[d][1], reverse=True)
mlflow_mb = sum(dists[d][1] for d in mlflow_only) / MB

print()
print(f"API Lambda closure ({root}): {len(dists)} distributions")
print(f"  unzipped size       {total / MB:8.1f} MB   (without __pycache__: {no_pyc / MB:.1f} MB)")
print(f"  goal                {goal:8.1f} MB   -> {'PASS' if total / MB <= goal else 'MISS'}")
print("  10 largest distributions:")
for label, n, _ in sorted(dists.values(), key=lambda d: d[1], reverse=True)[:10]:
    print(f"    {label:34s} {n / MB:8.1f} MB  {100 * n / total:5.1f} %")
if unclaimed > MB:
    print(f"    (files in no RECORD: {unclaimed / MB:.1f} MB)")
print(f"  there only because of the mlflow requirement: {len(mlflow_only)} distributions,"
      f" {mlflow_mb:.1f} MB ({100 * mlflow_mb * MB / total:.0f} %);"
      f" without them: {(total / MB) - mlflow_mb:.1f} MB")
print("    " + ", ".join(dists[d][0].split()[0] for d in mlflow_only[:12])
      + (", ..." if len(mlflow_only) > 12 else ""))
rest = sorted(without, key=lambda d: dists[d][1], reverse=True)[:6]
print("  largest of the rest: " + ", ".join(
    f"{dists[d][0].split()[0]} {dists[d][1] / MB:.0f} MB" for d in rest))
PYEOF
