"""GPU counters through NVML (nvidia-ml-py, module `pynvml`).

Units as NVML reports them, converted at this boundary:
power mW → W (Decimal), total energy mJ since driver load → J (Decimal), utilization %,
temperature °C, memory bytes. The NVML module is injectable (`NvmlSource(nvml=...)`) so
tests and demos can use `agent.fakenvml.SimulatedNvml`, which implements the same calls.

Energy per job is the difference of two reads of the energy counter. The counter restarts
at 0 when the driver is reloaded; a read lower than the previous one is treated as such a
reset and the new value is taken as the energy since the reload (what happened between the
last read and the reload is lost — an underestimate, never an invented amount).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

log = logging.getLogger("medrwa.agent.gpu")

MJ_PER_J = Decimal(1000)
MW_PER_W = Decimal(1000)


class NvmlUnavailable(RuntimeError):
    """NVML cannot be used on this machine (no driver, no GPU, library missing)."""


def counter_delta_mj(previous: int, current: int) -> int:
    """Energy (mJ) between two reads of NVML's total-energy counter, reset-aware."""
    if current >= previous:
        return current - previous
    return current  # driver reload: counter restarted from 0


@dataclass(frozen=True)
class GpuSample:
    t: float  # Unix seconds of the read
    power_mw: int | None
    energy_mj: int | None
    util_pct: int | None
    temp_c: int | None
    mem_used_bytes: int | None
    mem_total_bytes: int | None
    ecc_uncorrected: int | None

    @property
    def power_w(self) -> Decimal | None:
        return None if self.power_mw is None else Decimal(self.power_mw) / MW_PER_W

    @property
    def energy_j(self) -> Decimal | None:
        return None if self.energy_mj is None else Decimal(self.energy_mj) / MJ_PER_J


@dataclass(frozen=True)
class Usage:
    gpu_seconds: Decimal
    energy_j: Decimal
    samples: int


ZERO_USAGE = Usage(Decimal("0"), Decimal("0"), 0)


def usage_between(samples: Iterable[GpuSample], start: float, end: float) -> Usage:
    """GPU-busy seconds and the energy attributed to them over [start, end].

    NVML's utilization is the share of the past sample period during which a kernel ran,
    so busy seconds = Σ util × Δt. Each interval's energy (counter difference, reset-aware)
    is attributed in the same proportion, so energy / gpu_seconds is the utilization-weighted
    average power: physically consistent by construction. Idle draw is not billed to a job.
    """
    pts = [s for s in samples if s.energy_mj is not None and s.util_pct is not None]
    busy = Decimal(0)
    energy_mj = Decimal(0)
    used = 0
    for a, b in pairwise(pts):
        if b.t <= a.t:
            continue
        lo, hi = max(a.t, start), min(b.t, end)
        if hi <= lo:
            continue
        share = Decimal(repr(hi - lo)) / Decimal(repr(b.t - a.t))
        util = Decimal(b.util_pct) / 100
        busy += Decimal(repr(b.t - a.t)) * share * util
        energy_mj += Decimal(counter_delta_mj(a.energy_mj, b.energy_mj)) * share * util
        used += 1
    return Usage(
        gpu_seconds=busy.quantize(Decimal("0.1")),
        energy_j=(energy_mj / MJ_PER_J).quantize(Decimal("0.1")),
        samples=used,
    )


def job_usage(samples: Iterable[GpuSample], start: float, end: float) -> Usage:
    """A compute job's GPU seconds and energy over [start, end] on one GPU.

    Unlike a procedure's reconstruction (util-weighted, `usage_between`), a compute job is
    sold by the GPU time it held: gpu_seconds = the wall time of the job, and energy = what
    the GPU's counter advanced meanwhile (each pair of reads reset-aware, the intervals at
    the edges pro-rated). Sampling during the job matters: a driver reload between two
    reads loses only that interval's energy, never the whole job's."""
    pts = sorted((s for s in samples if s.energy_mj is not None), key=lambda s: s.t)
    energy_mj = Decimal(0)
    used = 0
    for a, b in pairwise(pts):
        if b.t <= a.t:
            continue
        lo, hi = max(a.t, start), min(b.t, end)
        if hi <= lo:
            continue
        share = Decimal(repr(hi - lo)) / Decimal(repr(b.t - a.t))
        energy_mj += Decimal(counter_delta_mj(a.energy_mj, b.energy_mj)) * share
        used += 1
    return Usage(
        gpu_seconds=Decimal(repr(max(end - start, 0.0))).quantize(Decimal("0.1")),
        energy_j=(energy_mj / MJ_PER_J).quantize(Decimal("0.1")),
        samples=used,
    )


class NvmlSource:
    """Reads one GPU. `open()` raises NvmlUnavailable with a clear reason."""

    def __init__(self, *, nvml: Any = None, index: int = 0, clock: Callable[[], float] = time.time) -> None:
        self._nvml = nvml
        self.index = index
        self.clock = clock
        self.handle: Any = None
        self.name = ""
        self.uuid = ""
        self._events: Any = None
        self.xid_errors = 0
        self.last_xids: deque[int] = deque(maxlen=20)
        self._unsupported: set[str] = set()

    @property
    def nvml(self) -> Any:
        if self._nvml is None:
            try:
                # Optional: nvidia-ml-py is needed only where the agent reads a real GPU (a
                # simulated NVML, or none, elsewhere), so it is imported on first use.
                import pynvml
            except ImportError as exc:
                raise NvmlUnavailable("nvidia-ml-py (module pynvml) is not installed") from exc
            self._nvml = pynvml
        return self._nvml

    def open(self) -> NvmlSource:
        nv = self.nvml
        try:
            nv.nvmlInit()
        except nv.NVMLError as exc:
            code = getattr(exc, "value", None)
            if code == getattr(nv, "NVML_ERROR_LIBRARY_NOT_FOUND", 12):
                raise NvmlUnavailable(
                    "NVML library (libnvidia-ml.so.1) not found: no NVIDIA driver installed "
                    "on this machine; GPU seconds and energy will be reported as 0"
                ) from exc
            if code == getattr(nv, "NVML_ERROR_DRIVER_NOT_LOADED", 9):
                raise NvmlUnavailable("NVIDIA driver is not loaded (NVML: driver not loaded)") from exc
            raise NvmlUnavailable(f"nvmlInit failed: {exc}") from exc
        try:
            count = nv.nvmlDeviceGetCount()
            if self.index >= count:
                raise NvmlUnavailable(f"GPU index {self.index} requested, {count} GPU(s) found")
            self.handle = nv.nvmlDeviceGetHandleByIndex(self.index)
            self.name = _text(self._opt("name", nv.nvmlDeviceGetName, self.handle) or "")
            self.uuid = _text(self._opt("uuid", nv.nvmlDeviceGetUUID, self.handle) or "")
        except nv.NVMLError as exc:
            self._shutdown()
            raise NvmlUnavailable(f"cannot open GPU {self.index}: {exc}") from exc
        self._register_xid_events()
        log.info("NVML: GPU %d %s %s", self.index, self.name, self.uuid)
        return self

    def _register_xid_events(self) -> None:
        """XID errors come from NVML's event API (nvmlEventSetCreate /
        nvmlDeviceRegisterEvents with nvmlEventTypeXidCriticalError / nvmlEventSetWait).
        Where the platform does not support it, xid_errors stays 0 and we say so once."""
        nv = self.nvml
        xid_type = getattr(nv, "nvmlEventTypeXidCriticalError", 0x8)
        try:
            supported = nv.nvmlDeviceGetSupportedEventTypes(self.handle)
            if not supported & xid_type:
                raise NvmlUnavailable("XID events not supported")
            events = nv.nvmlEventSetCreate()
            nv.nvmlDeviceRegisterEvents(self.handle, xid_type, events)
            self._events = events
        except (nv.NVMLError, NvmlUnavailable, AttributeError) as exc:
            log.warning("NVML XID event API unavailable (%s); xid_errors will read 0", exc)
            self._events = None

    def _opt(self, field: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Call an NVML getter; a field the GPU does not support reads None (logged once)."""
        nv = self.nvml
        try:
            return fn(*args)
        except nv.NVMLError as exc:
            if field not in self._unsupported:
                self._unsupported.add(field)
                log.warning("NVML %s unavailable on this GPU: %s", field, exc)
            return None

    def poll_xid(self) -> int:
        """Drain pending XID events without blocking; returns the running total."""
        if self._events is None:
            return self.xid_errors
        nv = self.nvml
        xid_type = getattr(nv, "nvmlEventTypeXidCriticalError", 0x8)
        for _ in range(1000):
            try:
                data = nv.nvmlEventSetWait(self._events, 0)
            except nv.NVMLError:  # NVML_ERROR_TIMEOUT: nothing pending
                break
            if data.eventType & xid_type:
                self.xid_errors += 1
                self.last_xids.append(int(data.eventData))
                log.error("GPU XID error %s", data.eventData)
        return self.xid_errors

    def read(self) -> GpuSample:
        if self.handle is None:
            raise NvmlUnavailable("NvmlSource.read() before open()")
        nv, h = self.nvml, self.handle
        util = self._opt("utilization", nv.nvmlDeviceGetUtilizationRates, h)
        mem = self._opt("memory", nv.nvmlDeviceGetMemoryInfo, h)
        self.poll_xid()
        return GpuSample(
            t=self.clock(),
            power_mw=_int(self._opt("power", nv.nvmlDeviceGetPowerUsage, h)),
            energy_mj=_int(self._opt("energy", nv.nvmlDeviceGetTotalEnergyConsumption, h)),
            util_pct=None if util is None else int(util.gpu),
            temp_c=_int(
                self._opt("temperature", nv.nvmlDeviceGetTemperature, h, getattr(nv, "NVML_TEMPERATURE_GPU", 0))
            ),
            mem_used_bytes=None if mem is None else int(mem.used),
            mem_total_bytes=None if mem is None else int(mem.total),
            ecc_uncorrected=_int(
                self._opt(
                    "ecc",
                    nv.nvmlDeviceGetTotalEccErrors,
                    h,
                    getattr(nv, "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", 1),
                    getattr(nv, "NVML_VOLATILE_ECC", 0),
                )
            ),
        )

    def _shutdown(self) -> None:
        try:
            self.nvml.nvmlShutdown()
        except Exception:
            log.debug("nvmlShutdown failed", exc_info=True)

    def close(self) -> None:
        if self._events is not None:
            try:
                self.nvml.nvmlEventSetFree(self._events)
            except Exception:
                log.debug("nvmlEventSetFree failed", exc_info=True)
            self._events = None
        if self.handle is not None:
            self.handle = None
            self._shutdown()


def heartbeat_data(sample: GpuSample | None, *, uptime_s: int, xid_errors: int) -> dict[str, Any]:
    data: dict[str, Any] = {"uptime_s": int(uptime_s)}
    if sample is not None:
        data.update(
            gpu_util_pct=sample.util_pct,
            gpu_power_w=sample.power_w,
            gpu_temp_c=sample.temp_c,
            gpu_mem_used_bytes=sample.mem_used_bytes,
            gpu_mem_total_bytes=sample.mem_total_bytes,
            gpu_energy_total_j=sample.energy_j,
            xid_errors=xid_errors,
            ecc_errors=sample.ecc_uncorrected if sample.ecc_uncorrected is not None else 0,
        )
    return data


class GpuMonitor:
    """Samples an NvmlSource in a thread and answers 'GPU usage between t0 and t1'."""

    def __init__(self, source: NvmlSource, *, interval_s: float = 1.0, keep_s: float = 12 * 3600) -> None:
        self.source = source
        self.interval_s = interval_s
        self._samples: deque[GpuSample] = deque(maxlen=max(10, int(keep_s / interval_s)))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample_now(self) -> GpuSample:
        sample = self.source.read()
        with self._lock:
            self._samples.append(sample)
        return sample

    def latest(self) -> GpuSample | None:
        with self._lock:
            return self._samples[-1] if self._samples else None

    def samples(self) -> list[GpuSample]:
        with self._lock:
            return list(self._samples)

    def usage(self, start: float, end: float) -> Usage:
        if end >= self.source.clock() - self.interval_s:
            self.sample_now()  # close the window with a fresh read
        return usage_between(self.samples(), start, end)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample_now()
            except Exception:
                log.exception("GPU sampling failed")
            self._stop.wait(self.interval_s)

    def start(self) -> GpuMonitor:
        self._thread = threading.Thread(target=self._run, name="gpu-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
