"""DICOM Modality Performed Procedure Step SCP (SOP class 1.2.840.10008.3.1.2.3.3).

N-CREATE (status IN PROGRESS) opens a step; N-SET updates it; an N-SET to COMPLETED or
DISCONTINUED finalizes it and, in the same spool transaction, produces one `procedure`
event whose idempotency key is the SOP Instance UID. Steps live in the spool database,
so a step opened before an agent restart can still be completed after it.

Statuses returned: 0x0000 success, 0x0111 duplicate SOP instance (N-CREATE of a known
UID), 0x0112 no such SOP instance (N-SET of an unknown UID), 0x0110 processing failure
(N-SET after a final status, or an internal error), 0x0106 invalid attribute value,
0x0120 missing attribute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep, Verification

from agent.events import FINAL_STATUSES, EventError, format_ts
from agent.gpu import ZERO_USAGE, Usage
from agent.spool import Spool

log = logging.getLogger("medrwa.agent.mpps")

MPPS_SOP_CLASS = "1.2.840.10008.3.1.2.3.3"
SUCCESS = 0x0000
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
NO_SUCH_SOP_INSTANCE = 0x0112
MISSING_ATTRIBUTE = 0x0120

IN_PROGRESS = "IN PROGRESS"
VALID_STATUSES = (IN_PROGRESS, *FINAL_STATUSES)
CPT_SCHEMES = ("CPT", "C4", "CPT4", "CPT-4")

UsageFn = Callable[[float, float], Usage]


class MppsReceiver:
    """Protocol-independent MPPS state machine; `handlers()` plugs it into pynetdicom."""

    def __init__(
        self,
        spool: Spool,
        *,
        gpu_usage: UsageFn | None = None,
        local_tz: tzinfo | str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spool = spool
        self.gpu_usage = gpu_usage
        if isinstance(local_tz, str):
            local_tz = ZoneInfo(local_tz)
        self.local_tz = local_tz
        self.clock = clock
        self._lock = threading.Lock()

    # -- the state machine -------------------------------------------------------------

    def create(self, uid: str | None, attrs: Dataset, *, calling_ae: str | None = None) -> tuple[int, Dataset | None]:
        status = str(attrs.get("PerformedProcedureStepStatus", "") or "").strip().upper()
        if not status:
            return MISSING_ATTRIBUTE, None
        if status != IN_PROGRESS:
            log.warning("N-CREATE %s refused: status %r (must be IN PROGRESS)", uid, status)
            return INVALID_ATTRIBUTE_VALUE, None
        response = Dataset()
        if not uid:
            uid = str(generate_uid())
            response.AffectedSOPInstanceUID = uid
        with self._lock:
            stored = {"ds": attrs.to_json_dict(), "created_t": self.clock(), "calling_ae": calling_ae}
            if not self.spool.step_put(uid, IN_PROGRESS, stored, create=True):
                log.warning("N-CREATE %s refused: duplicate SOP Instance UID", uid)
                return DUPLICATE_SOP_INSTANCE, None
        log.info("MPPS %s IN PROGRESS (%s)", uid, attrs.get("Modality", "?"))
        return SUCCESS, response

    def set(self, uid: str | None, mods: Dataset) -> tuple[int, Dataset | None]:
        if not uid:
            return MISSING_ATTRIBUTE, None
        with self._lock:
            step = self.spool.step_get(uid)
            if step is None:
                log.warning("N-SET %s refused: no such SOP instance", uid)
                return NO_SUCH_SOP_INSTANCE, None
            if step["status"] in FINAL_STATUSES:
                log.warning("N-SET %s refused: step already %s", uid, step["status"])
                return PROCESSING_FAILURE, None
            ds = Dataset.from_json(step["attrs"]["ds"])
            for elem in mods:
                ds[elem.tag] = elem
            status = str(ds.get("PerformedProcedureStepStatus", "") or "").strip().upper()
            if status not in VALID_STATUSES:
                return INVALID_ATTRIBUTE_VALUE, None
            attrs = {**step["attrs"], "ds": ds.to_json_dict()}
            if status == IN_PROGRESS:
                self.spool.step_put(uid, status, attrs, create=False)
                return SUCCESS, Dataset()
            attrs["final_t"] = self.clock()
            try:
                data, ended = self.procedure_data(ds, attrs)
            except (EventError, ValueError) as exc:
                log.warning("N-SET %s refused: %s", uid, exc)
                return INVALID_ATTRIBUTE_VALUE, None
            with self.spool.transaction():
                self.spool.step_put(uid, status, attrs, create=False)
                seq = self.spool.append(kind="procedure", data=data, occurred_at=ended, idempotency_key=uid)
        log.info("MPPS %s %s → procedure event seq=%d", uid, status, seq)
        return SUCCESS, Dataset()

    # -- mapping to the wire event ---------------------------------------------------------

    def procedure_data(self, ds: Dataset, attrs: dict[str, Any]) -> tuple[dict[str, Any], datetime]:
        status = str(ds.PerformedProcedureStepStatus).strip().upper()
        tz = self._dataset_tz(ds)
        started = _dicom_dt(ds.get("PerformedProcedureStepStartDate"), ds.get("PerformedProcedureStepStartTime"), tz)
        if started is None:
            raise EventError("missing Performed Procedure Step Start Date/Time")
        ended = _dicom_dt(ds.get("PerformedProcedureStepEndDate"), ds.get("PerformedProcedureStepEndTime"), tz)
        if ended is None:
            # Standard says a final N-SET carries the end; lenient: use the receipt time.
            log.warning("final N-SET without end date/time; using time of receipt")
            ended = datetime.fromtimestamp(attrs["final_t"], UTC)
        if ended < started:
            raise EventError("end date/time before start date/time")
        reason = None
        if status == "DISCONTINUED":
            seq = ds.get("PerformedProcedureStepDiscontinuationReasonCodeSequence") or []
            reason = str(seq[0].CodeValue) if seq and "CodeValue" in seq[0] else None
        series = ds.get("PerformedSeriesSequence") or []
        images = sum(len(item.get("ReferencedImageSequence") or []) for item in series)
        usage = ZERO_USAGE
        if self.gpu_usage is not None:
            try:
                usage = self.gpu_usage(attrs.get("created_t", started.timestamp()), attrs["final_t"])
            except Exception:
                log.exception("GPU usage lookup failed; reporting 0")
        ctdivol = _max_decimal(ds, 0x00189345)
        data = {
            "modality": str(ds.get("Modality", "") or "") or None,
            "cpt_code": _cpt_code(ds),
            "status": status,
            "reason_code": reason,
            "started_at": format_ts(started),
            "ended_at": format_ts(ended),
            "series_count": len(series),
            "image_count": images,
            # DLP is reported in the RDSR (TID 10012), not in MPPS; CTDIvol may appear in
            # the CT exposure items of the MPPS.
            "dlp_mgycm": None,
            "ctdivol_mgy": ctdivol,
            "gpu_seconds": usage.gpu_seconds,
            "gpu_energy_j": usage.energy_j,
            "station_ae": str(ds.get("PerformedStationAETitle", "") or "").strip() or attrs.get("calling_ae") or None,
        }
        return data, ended

    def _dataset_tz(self, ds: Dataset) -> tzinfo:
        offset = str(ds.get("TimezoneOffsetFromUTC", "") or "").strip()
        if len(offset) == 5 and offset[0] in "+-" and offset[1:].isdigit():
            minutes = int(offset[1:3]) * 60 + int(offset[3:5])
            return timezone(timedelta(minutes=minutes if offset[0] == "+" else -minutes))
        if self.local_tz is not None:
            return self.local_tz
        return datetime.now().astimezone().tzinfo or UTC

    # -- pynetdicom glue ------------------------------------------------------------------

    def on_n_create(self, event: Any) -> tuple[int, Dataset | None]:
        try:
            uid = event.request.AffectedSOPInstanceUID
            attrs = event.attribute_list
            try:
                calling = str(event.assoc.requestor.ae_title).strip() or None
            except AttributeError:
                calling = None
            return self.create(str(uid) if uid else None, attrs, calling_ae=calling)
        except Exception:
            log.exception("N-CREATE failed")
            return PROCESSING_FAILURE, None

    def on_n_set(self, event: Any) -> tuple[int, Dataset | None]:
        try:
            uid = event.request.RequestedSOPInstanceUID
            return self.set(str(uid) if uid else None, event.modification_list)
        except Exception:
            log.exception("N-SET failed")
            return PROCESSING_FAILURE, None

    def handlers(self) -> list[tuple[Any, Callable[..., Any]]]:
        return [(evt.EVT_N_CREATE, self.on_n_create), (evt.EVT_N_SET, self.on_n_set)]


def start_server(
    receiver: MppsReceiver,
    *,
    host: str = "0.0.0.0",  # noqa: S104 - modalities connect from the imaging network
    port: int = 11112,
    ae_title: str = "MEDRWA",
    block: bool = False,
) -> Any:
    """Start the SCP. With block=False returns the running server (`.server_address`,
    `.shutdown()`); port 0 picks a free port."""
    ae = AE(ae_title=ae_title)
    ae.add_supported_context(ModalityPerformedProcedureStep)
    ae.add_supported_context(Verification)
    log.info("MPPS SCP %s listening on %s:%d", ae_title, host, port)
    return ae.start_server((host, port), block=block, evt_handlers=receiver.handlers())


# -- helpers ------------------------------------------------------------------------------


def _dicom_dt(date: Any, tm: Any, tz: tzinfo) -> datetime | None:
    d = str(date or "").strip()
    t = str(tm or "").strip().replace(":", "")
    if len(d) != 8 or not d.isdigit():
        return None
    main, _, frac = t.partition(".")
    main = (main + "000000")[:6] if main else "000000"
    if not main.isdigit():
        return None
    micro = int((frac + "000000")[:6]) if frac.isdigit() else 0
    return datetime(
        int(d[:4]), int(d[4:6]), int(d[6:8]), int(main[:2]), int(main[2:4]), int(main[4:6]), micro, tzinfo=tz
    )


def _cpt_code(ds: Dataset) -> str | None:
    items = list(ds.get("ProcedureCodeSequence") or [])
    for item in items:
        if str(item.get("CodingSchemeDesignator", "")).upper() in CPT_SCHEMES:
            return str(item.CodeValue)
    return str(items[0].CodeValue) if items and "CodeValue" in items[0] else None


def _max_decimal(ds: Dataset, tag: int) -> Decimal | None:
    best: Decimal | None = None
    for elem in ds.iterall():
        if elem.tag == tag and elem.value not in (None, ""):
            try:
                value = Decimal(str(elem.value))
            except InvalidOperation:
                continue
            best = value if best is None else max(best, value)
    return best
