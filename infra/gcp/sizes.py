"""Cloud Run instance sizes, checked before anything is created (no provider import, so
the stack settings can use it).

>>> check_size(1, 2048, "app")
''
>>> check_size(4, 1024, "app")
'app: 4 vCPUs allow 2048-16384 MiB of memory, not 1024.'
"""

from __future__ import annotations

# Cloud Run's CPU limits per instance and the memory range each allows (MiB).
CPU_MEMORY_MIB = {1: (128, 4096), 2: (128, 8192), 4: (2048, 16384), 8: (4096, 32768)}


def check_size(cpu: int, memory_mib: int, what: str) -> str:
    """ "" when Cloud Run runs ``cpu`` vCPUs with ``memory_mib``; else one sentence."""
    if cpu not in CPU_MEMORY_MIB:
        return f"{what}: {cpu} vCPUs is not a Cloud Run size; use 1, 2, 4 or 8."
    low, high = CPU_MEMORY_MIB[cpu]
    if not low <= memory_mib <= high:
        unit = "vCPU" if cpu == 1 else "vCPUs"
        return f"{what}: {cpu} {unit} allow {low}-{high} MiB of memory, not {memory_mib}."
    return ""
