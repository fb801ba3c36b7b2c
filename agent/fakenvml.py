"""A simulated NVML with the subset of the `pynvml` interface the agent calls.

Inject it where a `pynvml` module is expected: `NvmlSource(nvml=SimulatedNvml(...))`.
The energy counter integrates the configured power over a (manual or real) clock, so
counter differences behave like the real thing, including a reset on `reload_driver()`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any


class NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return SimulatedNvml.MESSAGES.get(self.value, f"NVML error {self.value}")


class ManualClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SimulatedNvml:
    NVMLError = NVMLError
    NVML_SUCCESS = 0
    NVML_ERROR_NOT_SUPPORTED = 3
    NVML_ERROR_DRIVER_NOT_LOADED = 9
    NVML_ERROR_TIMEOUT = 10
    NVML_ERROR_LIBRARY_NOT_FOUND = 12
    NVML_TEMPERATURE_GPU = 0
    NVML_MEMORY_ERROR_TYPE_CORRECTED = 0
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
    NVML_VOLATILE_ECC = 0
    NVML_AGGREGATE_ECC = 1
    nvmlEventTypeXidCriticalError = 0x8
    MESSAGES = {3: "Not Supported", 9: "Driver Not Loaded", 10: "Timeout", 12: "NVML Shared Library Not Found"}

    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = None,
        idle_power_w: float = 60.0,
        mem_total_bytes: int = 24 * 1024**3,
        init_error: int | None = None,
        xid_supported: bool = True,
        ecc_supported: bool = True,
        device_count: int = 1,
    ) -> None:
        self.clock = clock or time.time
        self.idle_power_w = idle_power_w
        self.power_w = idle_power_w
        self.util_pct = 0
        self.temp_c = 40
        self.mem_total = mem_total_bytes
        self.mem_used = 512 * 1024**2
        self.init_error = init_error
        self.xid_supported = xid_supported
        self.ecc_supported = ecc_supported
        self.ecc_uncorrected = 0
        self.device_count = device_count
        self.energy_mj = 5_000_000.0  # the driver has been up for a while
        self._last = self.clock()
        self._xid_queue: deque[int] = deque()
        self.initialized = False
        self.calls: list[str] = []

    # -- controls for tests / demos ------------------------------------------------------

    def _integrate(self) -> None:
        now = self.clock()
        if now > self._last:
            self.energy_mj += self.power_w * 1000.0 * (now - self._last)
        self._last = now

    def set_load(self, *, util_pct: int, power_w: float | None = None) -> None:
        self._integrate()
        self.util_pct = util_pct
        self.power_w = power_w if power_w is not None else self.idle_power_w
        self.temp_c = 40 + int(util_pct * 0.4)

    def reload_driver(self) -> None:
        """The counter restarts from 0, as after a driver reload."""
        self._integrate()
        self.energy_mj = 0.0

    def raise_xid(self, code: int = 79) -> None:
        self._xid_queue.append(code)

    # -- the pynvml surface ----------------------------------------------------------------

    def _check(self) -> None:
        if not self.initialized:
            raise NVMLError(1)  # NVML_ERROR_UNINITIALIZED

    def nvmlInit(self) -> None:
        self.calls.append("nvmlInit")
        if self.init_error is not None:
            raise NVMLError(self.init_error)
        self.initialized = True

    def nvmlShutdown(self) -> None:
        self.calls.append("nvmlShutdown")
        self.initialized = False

    def nvmlDeviceGetCount(self) -> int:
        self._check()
        return self.device_count

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        self._check()
        return SimpleNamespace(index=index)

    def nvmlDeviceGetName(self, handle: Any) -> str:
        return "Simulated RTX A5000"

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        return f"GPU-00000000-0000-0000-0000-00000000000{handle.index}"

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        self._check()
        return round(self.power_w * 1000)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        self._check()
        self._integrate()
        return int(self.energy_mj)

    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any:
        self._check()
        return SimpleNamespace(gpu=self.util_pct, memory=self.util_pct // 2)

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int:
        self._check()
        return self.temp_c

    def nvmlDeviceGetMemoryInfo(self, handle: Any, version: Any = None) -> Any:
        self._check()
        return SimpleNamespace(total=self.mem_total, used=self.mem_used, free=self.mem_total - self.mem_used)

    def nvmlDeviceGetTotalEccErrors(self, handle: Any, error_type: int, counter_type: int) -> int:
        self._check()
        if not self.ecc_supported:
            raise NVMLError(self.NVML_ERROR_NOT_SUPPORTED)
        return self.ecc_uncorrected

    def nvmlDeviceGetSupportedEventTypes(self, handle: Any) -> int:
        self._check()
        return self.nvmlEventTypeXidCriticalError if self.xid_supported else 0

    def nvmlEventSetCreate(self) -> Any:
        self._check()
        return SimpleNamespace(kind="eventset")

    def nvmlDeviceRegisterEvents(self, handle: Any, event_types: int, event_set: Any) -> None:
        self._check()
        if not self.xid_supported:
            raise NVMLError(self.NVML_ERROR_NOT_SUPPORTED)

    def nvmlEventSetWait(self, event_set: Any, timeoutms: int) -> Any:
        self._check()
        if not self._xid_queue:
            raise NVMLError(self.NVML_ERROR_TIMEOUT)
        return SimpleNamespace(eventType=self.nvmlEventTypeXidCriticalError, eventData=self._xid_queue.popleft())

    def nvmlEventSetFree(self, event_set: Any) -> None:
        return None
