"""The real agent (imported from `agent`) against the real platform (live_server):
MPPS SCU → agent SCP → spool → signed upload → procedure on the device page, once; and an
outage (refused connections, then lost responses) while the agent keeps producing, after
which every event is stored exactly once."""

import itertools
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from agent.mpps import MPPS_SOP_CLASS, MppsReceiver, start_server
from agent.spool import Spool
from agent.uploader import build_uploader
from telemetry.models import FlagCode, PlausibilityFlag, TelemetryEvent
from telemetry.processing import process_new_events
from telemetry.services import credential_issue
from tests.fixtures.telemetry import make_device

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def issued(clinic_admin):
    device = make_device(clinic_admin.memberships.first().organization)
    return credential_issue(actor=clinic_admin, device=device, label="flow")


def _mpps_create(start: datetime) -> Dataset:
    ds = Dataset()
    ds.Modality = "CT"
    ds.PerformedStationAETitle = "CT01"
    ds.PerformedProcedureStepStartDate = start.strftime("%Y%m%d")
    ds.PerformedProcedureStepStartTime = start.strftime("%H%M%S")
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.TimezoneOffsetFromUTC = "+0000"
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "74177", "CPT", "CT abd/pelvis w contrast"
    ds.ProcedureCodeSequence = [code]
    return ds


def _mpps_final(end: datetime) -> Dataset:
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "COMPLETED"
    ds.PerformedProcedureStepEndDate = end.strftime("%Y%m%d")
    ds.PerformedProcedureStepEndTime = end.strftime("%H%M%S")
    item = Dataset()
    item.SeriesInstanceUID = "1.2.3.1"
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", "1.2.3.1.1"
    item.ReferencedImageSequence = [ref]
    ds.PerformedSeriesSequence = [item]
    return ds


def test_mpps_procedure_reaches_the_device_page_once(issued, live_server, tmp_path, client, clinic_admin):
    uid = "1.2.826.0.1.3680043.8.498.777001"
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    with Spool(tmp_path / "spool.db") as spool:
        server = start_server(MppsReceiver(spool, local_tz="UTC"), host="127.0.0.1", port=0, ae_title="MEDRWA")
        try:
            ae = AE(ae_title="CT01")
            ae.add_requested_context(ModalityPerformedProcedureStep)
            assoc = ae.associate("127.0.0.1", server.server_address[1], ae_title="MEDRWA")
            assert assoc.is_established
            assert assoc.send_n_create(_mpps_create(end - timedelta(minutes=13)), MPPS_SOP_CLASS, uid)[0].Status == 0
            assert assoc.send_n_set(_mpps_final(end), MPPS_SOP_CLASS, uid)[0].Status == 0
            assert assoc.send_n_set(_mpps_final(end), MPPS_SOP_CLASS, uid)[0].Status == 0x0110  # after final
            assoc.release()
        finally:
            server.shutdown()
        uploader = build_uploader(url=live_server.url, key_id=issued.credential.key_id, secret=issued.secret,
                                  spool=spool)
        report = uploader.drain()
        assert (report.accepted, report.duplicate, report.rejected) == (1, 0, 0)
        assert spool.depth() == 0
        # The same event sent again (a lost acknowledgement) is a duplicate, not a second exam.
        again = uploader.post([*spool_events_for(uid, spool, issued)])
        assert again.json()["results"][0]["status"] == "duplicate"

    event = TelemetryEvent.objects.get(idempotency_key=uid)
    assert (event.kind, event.status, event.cpt_code, event.data["image_count"]) == ("procedure", "COMPLETED",
                                                                                     "74177", 1)
    assert event.ended_at == end
    process_new_events(lag=timedelta(0))
    client.force_login(clinic_admin)
    html = client.get(f"/telemetry/devices/{event.device_id}/").content.decode()
    assert html.count(uid) == 1


def spool_events_for(uid, spool, issued):
    """The acknowledged event, rebuilt as the agent would resend it."""
    from agent.events import Event

    ev = TelemetryEvent.objects.get(idempotency_key=uid)
    yield Event(seq=ev.seq, kind=ev.kind, idempotency_key=uid, occurred_at=ev.occurred_at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"), data=ev.data)


class FlakyProxy:
    """TCP forwarder in front of the platform: `up`, `down` (connections refused), or
    `drop` (the request reaches the platform, the response never reaches the agent)."""

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.mode = "up"
        self.listener = None
        self.stopped = threading.Event()
        self.dropped = 0
        self._open()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _open(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        s.settimeout(0.2)
        self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def set(self, mode):
        if mode == "down" and self.listener is not None:
            self.listener.close()
            self.listener = None
        elif mode != "down" and self.listener is None:
            self._open()
        self.mode = mode

    def close(self):
        self.stopped.set()
        if self.listener is not None:
            self.listener.close()

    def _accept(self, listener):
        while not self.stopped.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        # One request per connection is enough for this test (requests reuses sessions; a
        # closed connection makes it reconnect).
        with conn, socket.create_connection(self.target) as up:
            conn.settimeout(10)
            up.settimeout(10)
            request = self._read_http(conn)
            if request is None:
                return
            up.sendall(request)
            response = self._read_http(up)
            if self.mode == "drop":
                self.dropped += 1
                return  # the platform has committed; the agent sees a dropped connection
            if response:
                conn.sendall(response)

    @staticmethod
    def _read_http(sock):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return data or None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body


def test_outage_then_recovery_every_event_exactly_once(issued, live_server, tmp_path):
    spool_path = tmp_path / "spool.db"
    proxy = FlakyProxy(int(live_server.url.rsplit(":", 1)[1]))
    stop = threading.Event()
    produced: list[str] = []
    counter = itertools.count(1)

    def produce():
        with Spool(spool_path) as spool:
            while not stop.is_set():
                n = next(counter)
                end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
                if n % 3:
                    key = spool.append(kind="heartbeat", data={"uptime_s": n}, occurred_at=end,
                                       idempotency_key=lambda seq: f"hb-flow-{seq}")
                    produced.append(f"hb-flow-{key}")
                else:
                    uid = f"1.2.826.0.1.3680043.8.498.{900000 + n}"
                    spool.append(kind="procedure", idempotency_key=uid, occurred_at=end, data={
                        "modality": "CT", "cpt_code": "71250", "status": "COMPLETED", "reason_code": None,
                        "started_at": end - timedelta(minutes=8), "ended_at": end, "series_count": 2,
                        "image_count": 300, "gpu_seconds": "40.0", "gpu_energy_j": "12000.0"})
                    produced.append(uid)
                time.sleep(0.01)

    def upload():
        with Spool(spool_path) as spool:
            uploader = build_uploader(url=proxy.url, key_id=issued.credential.key_id, secret=issued.secret,
                                      spool=spool, batch_size=50, timeout_s=5, backoff_base_s=0.05,
                                      backoff_cap_s=0.4)
            while not stop.is_set():
                uploader.drain(stop=stop)
                stop.wait(0.05)

    producer = threading.Thread(target=produce, daemon=True)
    uploader = threading.Thread(target=upload, daemon=True)
    producer.start()
    uploader.start()
    try:
        time.sleep(1.0)
        proxy.set("down")  # platform unreachable; the agent keeps producing into its spool
        time.sleep(3.0)
        with Spool(spool_path) as s:
            assert s.depth() > 50  # events piled up during the outage
        proxy.set("drop")  # reachable, but acknowledgements get lost: the agent must retry
        time.sleep(1.5)
        proxy.set("up")
        time.sleep(1.0)
        stop_producing = len(produced)
        stop.set()
        producer.join(5)
        uploader.join(10)
        # Drain what is left after the producer stopped.
        with Spool(spool_path) as spool:
            report = build_uploader(url=proxy.url, key_id=issued.credential.key_id, secret=issued.secret,
                                    spool=spool, batch_size=200).drain(give_up_after_s=10)
            assert spool.depth() == 0, report
    finally:
        stop.set()
        proxy.close()
    assert proxy.dropped > 0 and stop_producing > 100
    stored = list(TelemetryEvent.objects.filter(device=issued.credential.device)
                  .order_by("seq").values_list("idempotency_key", "seq"))
    assert sorted(k for k, _ in stored) == sorted(produced)
    assert len({k for k, _ in stored}) == len(produced)
    assert [s for _, s in stored] == list(range(1, len(produced) + 1))
    assert not PlausibilityFlag.objects.filter(code=FlagCode.SEQUENCE_GAP).exists()


def test_concurrent_retries_of_one_batch_store_it_once(issued, live_server):
    import requests

    from agent.events import encode_body
    from agent.signing import signed_headers
    from tests.fixtures.telemetry import heartbeat, procedure

    events = [procedure(i) if i % 4 == 0 else heartbeat(i) for i in range(1, 201)]
    body = encode_body(events)
    url = live_server.url + "/api/v1/telemetry/batches"
    barrier = threading.Barrier(4)
    responses = []

    def send():
        headers = signed_headers(key_id=issued.credential.key_id, secret=issued.secret, body=body)
        barrier.wait()
        responses.append(requests.post(url, data=body, headers=headers, timeout=30).json())

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(responses) == 4
    assert sum(r["accepted"] for r in responses) == 200
    assert sum(r["duplicate"] for r in responses) == 600
    assert TelemetryEvent.objects.filter(device=issued.credential.device).count() == 200


class PlatformProcess:
    """The platform as `make run` serves it (gunicorn, platform/gunicorn.conf.py) in its own
    process on the test database, so it can really be killed and started again."""

    def __init__(self, **settings_env: str):
        import os
        import sys
        from pathlib import Path

        from django.conf import settings
        from django.db import connection

        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        db = connection.settings_dict
        if connection.vendor == "postgresql":
            url = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                   f"/{db['NAME']}")
        else:
            url = f"sqlite:///{db['NAME']}"
        self.env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test",
                    "GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2",
                    "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS), **settings_env}
        self.cmd = [str(Path(sys.executable).with_name("gunicorn")), "-c", "platform/gunicorn.conf.py",
                    "--access-logfile", "/dev/null", "config.wsgi:application"]
        self.cwd = str(settings.BASE_DIR)
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=20.0):
        import subprocess

        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()  # never leave a server behind
            raise

    def _wait_ready(self, timeout):
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                # Unsigned: a 401 proves the app (not just a socket) answers.
                if requests.post(self.url + "/api/v1/telemetry/batches", data=b"{}", timeout=5).status_code == 401:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        raise AssertionError("the platform did not start")

    def kill(self):
        import os
        import signal

        if self.proc is not None and self.proc.poll() is None:
            # Master and workers at once (their own session): a crash, not a graceful stop.
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.1)
        raise AssertionError("the platform's port is still served after the kill")


def test_platform_killed_and_restarted_while_the_agent_produces(issued, tmp_path):
    """A real outage: the platform's gunicorn is SIGKILLed (mid-upload, whatever it was
    doing) while the agent keeps producing; after a restart everything arrives exactly once."""
    # The agent below uploads back to back (a few events a batch) to be mid-request when the
    # kill lands: far above the per-key budget, which has its own test and is not under test here.
    platform = PlatformProcess(TELEMETRY_BATCHES_PER_MINUTE="1000000")
    spool_path = tmp_path / "spool.db"
    stop = threading.Event()
    produced: list[str] = []

    def produce():
        with Spool(spool_path) as spool:
            n = 0
            while not stop.is_set():
                n += 1
                end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
                if n % 4:
                    key = spool.append(kind="heartbeat", data={"uptime_s": n}, occurred_at=end,
                                       idempotency_key=lambda seq: f"hb-kill-{seq}")
                    produced.append(f"hb-kill-{key}")
                else:
                    uid = f"1.2.826.0.1.3680043.8.498.{800000 + n}"
                    spool.append(kind="procedure", idempotency_key=uid, occurred_at=end, data={
                        "modality": "CT", "cpt_code": "71250", "status": "COMPLETED", "reason_code": None,
                        "started_at": end - timedelta(minutes=8), "ended_at": end, "series_count": 2,
                        "image_count": 300, "gpu_seconds": "40.0", "gpu_energy_j": "12000.0"})
                    produced.append(uid)
                time.sleep(0.005)

    def upload():
        with Spool(spool_path) as spool:
            uploader = build_uploader(url=platform.url, key_id=issued.credential.key_id, secret=issued.secret,
                                      spool=spool, batch_size=40, timeout_s=5, backoff_base_s=0.05,
                                      backoff_cap_s=0.5)
            while not stop.is_set():
                uploader.drain(stop=stop)
                stop.wait(0.05)

    threads = [threading.Thread(target=produce, daemon=True), threading.Thread(target=upload, daemon=True)]
    try:
        platform.start()
        with Spool(spool_path):
            pass  # create the spool before both threads open it
        for t in threads:
            t.start()
        before, deadline = 0, time.monotonic() + 20  # a loaded CI machine starts slowly
        while before == 0 and time.monotonic() < deadline:
            time.sleep(0.3)
            before = TelemetryEvent.objects.filter(device=issued.credential.device).count()
        assert before > 0  # the agent was uploading to the real process
        platform.kill()
        with Spool(spool_path) as s:
            depth_at_kill = s.depth()
        time.sleep(3.0)  # down: the agent keeps producing into its spool
        with Spool(spool_path) as s:
            assert s.depth() > depth_at_kill + 100
        platform.start()
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(10)
        with Spool(spool_path) as spool:
            report = build_uploader(url=platform.url, key_id=issued.credential.key_id, secret=issued.secret,
                                    spool=spool, batch_size=500).drain(give_up_after_s=15)
            assert spool.depth() == 0, report
    finally:
        stop.set()
        platform.kill()
    stored = list(TelemetryEvent.objects.filter(device=issued.credential.device)
                  .order_by("seq").values_list("idempotency_key", "seq"))
    assert len(produced) > 300
    assert sorted(k for k, _ in stored) == sorted(produced)
    assert [s for _, s in stored] == list(range(1, len(produced) + 1))
    assert not PlausibilityFlag.objects.filter(code=FlagCode.SEQUENCE_GAP).exists()
