from decimal import Decimal

import pynvml
import pytest

from agent.fakenvml import ManualClock, SimulatedNvml
from agent.gpu import (
    GpuMonitor,
    GpuSample,
    NvmlSource,
    NvmlUnavailable,
    counter_delta_mj,
    heartbeat_data,
    usage_between,
)


def test_counter_delta_plain_and_reset():
    assert counter_delta_mj(1_000, 4_500) == 3_500
    # driver reload: counter restarted at 0 and is now 700 mJ
    assert counter_delta_mj(9_000_000, 700) == 700


def test_units_and_heartbeat_fields():
    clock = ManualClock()
    nv = SimulatedNvml(clock=clock)
    src = NvmlSource(nvml=nv, clock=clock).open()
    nv.set_load(util_pct=90, power_w=212.5)
    clock.advance(10)
    s = src.read()
    assert s.power_w == Decimal("212.5")
    assert s.power_mw == 212500
    assert s.energy_j == Decimal(s.energy_mj) / 1000
    data = heartbeat_data(s, uptime_s=5, xid_errors=0)
    assert data["gpu_power_w"] == Decimal("212.5")
    assert data["gpu_mem_total_bytes"] == 24 * 1024**3
    assert data["gpu_util_pct"] == 90


def test_energy_per_job_is_counter_difference_and_survives_reload():
    clock = ManualClock()
    nv = SimulatedNvml(clock=clock, idle_power_w=50)
    mon = GpuMonitor(NvmlSource(nvml=nv, clock=clock).open(), interval_s=1)
    t0 = clock()
    mon.sample_now()
    nv.set_load(util_pct=100, power_w=300)
    for _ in range(10):
        clock.advance(1)
        mon.sample_now()
    nv.reload_driver()  # counter back to 0 mid-job
    for _ in range(10):
        clock.advance(1)
        mon.sample_now()
    usage = usage_between(mon.samples(), t0, clock())
    # 20 busy seconds at 300 W; the reload happened right after a read, nothing lost
    assert usage.gpu_seconds == Decimal("20.0")
    assert usage.energy_j == Decimal("6000.0")


def test_idle_draw_not_billed_and_power_is_plausible():
    samples = [
        GpuSample(t, 60_000, e, u, 50, 0, 1, 0)
        for t, e, u in [(0, 0, 0), (10, 600_000, 0), (20, 3_600_000, 100), (30, 5_100_000, 50)]
    ]
    usage = usage_between(samples, 0, 30)
    assert usage.gpu_seconds == Decimal("15.0")
    assert usage.energy_j == Decimal("3750.0")
    assert 0 < usage.energy_j / usage.gpu_seconds <= 700


def test_no_driver_is_reported_clearly():
    nv = SimulatedNvml(init_error=SimulatedNvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    with pytest.raises(NvmlUnavailable, match="no NVIDIA driver"):
        NvmlSource(nvml=nv).open()


def test_real_pynvml_without_driver():
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:
        pynvml.nvmlShutdown()
        pytest.skip("this machine has an NVIDIA driver")
    with pytest.raises(NvmlUnavailable, match="libnvidia-ml"):
        NvmlSource().open()


def test_xid_events_and_unsupported_ecc():
    nv = SimulatedNvml(ecc_supported=False)
    src = NvmlSource(nvml=nv).open()
    nv.raise_xid(79)
    nv.raise_xid(48)
    s = src.read()
    assert src.xid_errors == 2 and list(src.last_xids) == [79, 48]
    assert s.ecc_uncorrected is None
    assert heartbeat_data(s, uptime_s=1, xid_errors=src.xid_errors)["ecc_errors"] == 0
    src.close()
    assert nv.calls[-1] == "nvmlShutdown"


def test_xid_unsupported_reads_zero():
    src = NvmlSource(nvml=SimulatedNvml(xid_supported=False)).open()
    src.read()
    assert src.xid_errors == 0
