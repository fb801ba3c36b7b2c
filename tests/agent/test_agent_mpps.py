"""MPPS SCP against a real pynetdicom SCU over 127.0.0.1."""

from decimal import Decimal

import pytest
from agent_testkit import spool_fixture  # noqa: F401
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from agent.fakenvml import SimulatedNvml
from agent.gpu import GpuMonitor, NvmlSource
from agent.mpps import MPPS_SOP_CLASS, MppsReceiver, start_server

UID = "1.2.826.0.1.3680043.8.498.123"


def create_ds(uid_status="IN PROGRESS"):
    ds = Dataset()
    ds.Modality = "CT"
    ds.PerformedStationAETitle = "CT01"
    ds.PerformedProcedureStepStartDate = "20261129"
    ds.PerformedProcedureStepStartTime = "100200"
    ds.PerformedProcedureStepStatus = uid_status
    ds.TimezoneOffsetFromUTC = "+0100"
    code = Dataset()
    code.CodeValue = "74177"
    code.CodingSchemeDesignator = "CPT"
    code.CodeMeaning = "CT abdomen and pelvis with contrast"
    ds.ProcedureCodeSequence = [code]
    return ds


def final_ds(status="COMPLETED", reason=None):
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = "20261129"
    ds.PerformedProcedureStepEndTime = "101500"
    series = []
    for n in (3, 2):
        item = Dataset()
        item.SeriesInstanceUID = f"1.2.3.{n}"
        refs = []
        for i in range(n):
            ref = Dataset()
            ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
            ref.ReferencedSOPInstanceUID = f"1.2.3.{n}.{i}"
            refs.append(ref)
        item.ReferencedImageSequence = refs
        series.append(item)
    ds.PerformedSeriesSequence = series
    exposure = Dataset()
    exposure.CTDIvol = 11.2
    ds.CTExposureSequence = [exposure]
    if reason:
        code = Dataset()
        code.CodeValue = reason
        code.CodingSchemeDesignator = "DCM"
        code.CodeMeaning = "Equipment failure"
        ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = [code]
    return ds


@pytest.fixture
def scp(spool):
    nv = SimulatedNvml()
    monitor = GpuMonitor(NvmlSource(nvml=nv).open(), interval_s=0.05).start()
    receiver = MppsReceiver(spool, gpu_usage=monitor.usage)
    server = start_server(receiver, host="127.0.0.1", port=0, ae_title="MEDRWA")
    yield server.server_address[1], nv
    server.shutdown()
    monitor.stop()


@pytest.fixture
def scu(scp):
    port, _ = scp
    ae = AE(ae_title="CT01")
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", port, ae_title="MEDRWA")
    assert assoc.is_established
    yield assoc
    assoc.release()


def n_create(assoc, ds, uid=UID):
    status, _ = assoc.send_n_create(ds, MPPS_SOP_CLASS, uid)
    return status.Status


def n_set(assoc, ds, uid=UID):
    status, _ = assoc.send_n_set(ds, MPPS_SOP_CLASS, uid)
    return status.Status


def test_create_complete_then_refuse_updates(scu, scp, spool):
    _, nv = scp
    assert n_create(scu, create_ds()) == 0x0000
    nv.set_load(util_pct=95, power_w=300)
    import time

    time.sleep(0.4)
    nv.set_load(util_pct=0)
    assert spool.depth() == 0
    assert n_set(scu, final_ds()) == 0x0000
    [event] = spool.pending()
    assert event.kind == "procedure" and event.idempotency_key == UID
    d = event.data
    assert d["modality"] == "CT" and d["cpt_code"] == "74177" and d["status"] == "COMPLETED"
    assert d["reason_code"] is None
    assert d["started_at"] == "2026-11-29T09:02:00Z"  # +0100 local → UTC
    assert d["ended_at"] == "2026-11-29T09:15:00Z"
    assert event.occurred_at == d["ended_at"]
    assert (d["series_count"], d["image_count"]) == (2, 5)
    assert d["ctdivol_mgy"] == "11.2" and d["dlp_mgycm"] is None
    assert d["station_ae"] == "CT01"
    gpu_s, energy = Decimal(d["gpu_seconds"]), Decimal(d["gpu_energy_j"])
    assert Decimal("0.2") <= gpu_s <= Decimal("0.8")
    # ~300 W; the monitor thread reads its clock and the energy counter at slightly
    # different instants, so under CPU contention a short job's ratio wobbles.
    assert 200 <= energy / gpu_s <= 400  # W (a mW/mJ unit slip would be off by 1000x)

    # After a final status: any further N-SET is refused with 0x0110, nothing spooled.
    assert n_set(scu, final_ds("DISCONTINUED", "110501")) == 0x0110
    in_progress = Dataset()
    in_progress.PerformedProcedureStepStatus = "IN PROGRESS"
    assert n_set(scu, in_progress) == 0x0110
    assert spool.depth() == 1


def test_duplicate_create_and_unknown_instance(scu):
    assert n_create(scu, create_ds()) == 0x0000
    assert n_create(scu, create_ds()) == 0x0111
    assert n_set(scu, final_ds(), uid="1.2.3.4.5.6") == 0x0112


def test_create_must_be_in_progress(scu):
    assert n_create(scu, create_ds("COMPLETED")) == 0x0106


def test_discontinued_with_reason(scu, spool):
    assert n_create(scu, create_ds()) == 0x0000
    intermediate = Dataset()
    intermediate.PerformedProcedureStepStatus = "IN PROGRESS"
    intermediate.PerformedStationAETitle = "CT01"
    assert n_set(scu, intermediate) == 0x0000
    assert spool.depth() == 0
    assert n_set(scu, final_ds("DISCONTINUED", "110501")) == 0x0000
    [event] = spool.pending()
    assert event.data["status"] == "DISCONTINUED"
    assert event.data["reason_code"] == "110501"


def test_step_survives_agent_restart(tmp_path):
    from agent.spool import Spool

    path = tmp_path / "s.db"
    with Spool(path) as s:
        assert MppsReceiver(s, local_tz="UTC").create(UID, create_ds())[0] == 0
    with Spool(path) as s:
        receiver = MppsReceiver(s, local_tz="UTC")
        assert receiver.set(UID, final_ds())[0] == 0
        [event] = s.pending()
        assert event.data["gpu_seconds"] == "0.0" and event.data["gpu_energy_j"] == "0.0"
        assert receiver.create(UID, create_ds())[0] == 0x0111
