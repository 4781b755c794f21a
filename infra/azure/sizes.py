"""Container Apps (consumption profile) sizes; no provider import, so config.py can check.

Example::

    check_size(1.0, "2Gi", "app")   # fine
    check_size(1.0, "3Gi", "app")   # ValueError naming the sizes allowed
"""

from __future__ import annotations

# vCPU -> memory: 2 GiB per vCPU, from 0.25 to 4.
CPU_MEMORY = {
    0.25: "0.5Gi",
    0.5: "1Gi",
    0.75: "1.5Gi",
    1.0: "2Gi",
    1.25: "2.5Gi",
    1.5: "3Gi",
    1.75: "3.5Gi",
    2.0: "4Gi",
    2.5: "5Gi",
    3.0: "6Gi",
    3.5: "7Gi",
    4.0: "8Gi",
}


def size_problem(cpu: float, memory: str) -> str:
    """ "" when ``cpu``/``memory`` is a Container Apps size, else what is allowed."""
    if CPU_MEMORY.get(cpu) == memory:
        return ""
    pairs = ", ".join(f"{c:g}/{m}" for c, m in CPU_MEMORY.items())
    return f"{cpu:g} vCPU with {memory} is not a Container Apps size ({pairs})"


def check_size(cpu: float, memory: str, what: str) -> None:
    """Refuse a cpu/memory pair the consumption profile would reject."""
    problem = size_problem(cpu, memory)
    if problem:
        raise ValueError(f"{what}: {problem}")
