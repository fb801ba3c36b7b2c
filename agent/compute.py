"""Compute jobs: idle GPU time a GPU-equipped scanner sells. The agent measures each job
on one GPU through NVML and spools a signed `compute_job` event (job_id = idempotency key).

GPU seconds are the job's wall time on the GPU (what is sold); energy is the GPU's
total-energy counter difference over the job, read every `interval_s` so a driver reload
mid-job (counter back to 0) loses one interval at most (`agent.gpu.job_usage`).
"""

from __future__ import annotations

import math
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agent.events import format_ts
from agent.gpu import GpuMonitor, NvmlSource, Usage, job_usage
from agent.spool import Spool


def new_job_id() -> str:
    return f"job-{uuid.uuid4().hex}"


def job_data(*, job_id: str, start: float, end: float, gpu_index: int, usage: Usage) -> dict[str, Any]:
    """The event's `data`. Start is floored and end ceiled to whole seconds (the wire's
    precision) so the reported span always covers the GPU seconds."""
    started = datetime.fromtimestamp(math.floor(start), tz=UTC)
    ended = datetime.fromtimestamp(max(math.ceil(end), math.floor(start) + 1), tz=UTC)
    return {"job_id": job_id, "started_at": format_ts(started), "ended_at": format_ts(ended),
            "gpu_index": gpu_index, "gpu_seconds": usage.gpu_seconds, "gpu_energy_j": usage.energy_j}


def measure(source: NvmlSource, work: Callable[[], int], *, job_id: str | None = None,
            interval_s: float = 1.0) -> tuple[int, dict[str, Any]]:
    """Run `work()` (returns an exit code) while sampling the opened GPU; returns the exit
    code and the compute job's data."""
    monitor = GpuMonitor(source, interval_s=interval_s, keep_s=max(interval_s * 10, 7 * 24 * 3600))
    start = source.clock()
    monitor.sample_now()
    monitor.start()
    try:
        rc = work()
    finally:
        monitor.stop()
        end = source.clock()
        monitor.sample_now()
    usage = job_usage(monitor.samples(), start, end)
    return rc, job_data(job_id=job_id or new_job_id(), start=start, end=end, gpu_index=source.index, usage=usage)


def run_command(argv: list[str]) -> Callable[[], int]:
    def work() -> int:
        return subprocess.call(argv)  # noqa: S603 - the operator's own job command

    return work


def spool_job(spool: Spool, data: dict[str, Any]) -> int:
    return spool.append(kind="compute_job", data=data, occurred_at=data["ended_at"], idempotency_key=data["job_id"])
