"""The CPU/memory pairs Fargate accepts, checked before anything is deployed."""

from __future__ import annotations

# cpu units -> (smallest MiB, largest MiB, step MiB)
_MEMORY_BY_CPU: dict[int, tuple[int, int, int]] = {
    256: (512, 2048, 512),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}


def fargate_memory_choices(cpu: int) -> list[int]:
    low, high, step = _MEMORY_BY_CPU[cpu]
    choices = list(range(low, high + 1, step))
    # 256 CPU units also take 512 MiB steps from 512 but skip 1536.
    return [m for m in choices if not (cpu == 256 and m == 1536)]


def check_fargate_size(cpu: int, memory: int) -> None:
    """Raise ``ValueError`` unless Fargate runs a task of ``cpu`` units and ``memory`` MiB.

    Example::

        check_fargate_size(2048, 4096)   # fine
        check_fargate_size(2048, 2048)   # ValueError: ... memory 4096-16384 MiB ...
    """
    if cpu not in _MEMORY_BY_CPU:
        raise ValueError(
            f"Fargate has no task size with cpu={cpu}; use one of {sorted(_MEMORY_BY_CPU)}."
        )
    choices = fargate_memory_choices(cpu)
    if memory not in choices:
        low, high, step = _MEMORY_BY_CPU[cpu]
        raise ValueError(
            f"Fargate cpu={cpu} takes memory {low}-{high} MiB in steps of {step}, not {memory};"
            " change cpu or memory."
        )


def validate_fargate_size(cpu: int, memory: int, *, what: str = "task") -> None:
    """Refuse a cpu/memory pair Fargate would reject, naming the sizes it accepts.

    >>> validate_fargate_size(512, 512, what="app")
    Traceback (most recent call last):
    ...
    ValueError: Fargate cannot run the app with cpu=512 and memory=512 MiB: with 512 CPU units memory must be one of 1024, 2048, 3072, 4096 MiB.
    """  # noqa: E501
    try:
        allowed = fargate_memory_choices(cpu)
    except KeyError:
        check_fargate_size(cpu, memory)  # its message lists the CPU sizes Fargate has
        raise
    if memory not in allowed:
        raise ValueError(
            f"Fargate cannot run the {what} with cpu={cpu} and memory={memory} MiB: with "
            f"{cpu} CPU units memory must be one of {', '.join(map(str, allowed))} MiB."
        )
