"""Wires the sources, the spool and the uploader into one long-running agent."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from agent.filesource import JsonlTailer
from agent.gpu import ZERO_USAGE, GpuMonitor, NvmlSource, NvmlUnavailable, Usage, heartbeat_data
from agent.mpps import MppsReceiver, start_server
from agent.settings import AgentConfig, ConfigError
from agent.spool import Spool
from agent.uploader import Uploader

log = logging.getLogger("medrwa.agent")


def host_uptime_s(started_monotonic: float) -> int:
    try:
        return int(float(Path("/proc/uptime").read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return int(time.monotonic() - started_monotonic)


class Agent:
    def __init__(
        self, config: AgentConfig, *, nvml: Any = None, upload: bool = True, session: requests.Session | None = None
    ) -> None:
        self.config = config
        self.nvml = nvml
        self.upload = upload
        self.session = session
        self.stop_event = threading.Event()
        self.kick = threading.Event()  # new events: upload now rather than at the next tick
        self.spool: Spool | None = None
        self.uploader: Uploader | None = None
        self.monitor: GpuMonitor | None = None
        self.mpps_server: Any = None
        self.threads: list[threading.Thread] = []
        self._t0 = time.monotonic()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Agent:
        cfg = self.config
        if self.upload:
            cfg.validate_upload()
        self.spool = Spool(cfg.spool)
        log.info("spool %s: %d event(s) waiting, last seq %d", cfg.spool, self.spool.depth(), self.spool.last_seq())
        if self.upload:
            self.uploader = Uploader(
                url=cfg.url,
                key_id=cfg.key_id,
                secret=cfg.secret,
                spool=self.spool,
                batch_size=cfg.batch_size,
                timeout_s=cfg.timeout_s,
                backoff_base_s=cfg.backoff_base_s,
                backoff_cap_s=cfg.backoff_cap_s,
                session=self.session,
            )
            self._thread("uploader", self._upload_loop)
        if cfg.gpu != "off":
            try:
                source = NvmlSource(nvml=self.nvml, index=cfg.gpu_index).open()
            except NvmlUnavailable as exc:
                if cfg.gpu == "on":
                    raise ConfigError(f"gpu = on but NVML is unavailable: {exc}") from exc
                log.warning("GPU telemetry disabled: %s", exc)
            else:
                self.monitor = GpuMonitor(source, interval_s=cfg.sample_interval_s).start()
                self._thread("heartbeat", self._heartbeat_loop)
        if cfg.mpps:
            receiver = MppsReceiver(self.spool, gpu_usage=self._gpu_usage, local_tz=cfg.timezone or None)
            self.mpps_server = start_server(
                receiver, host=cfg.mpps_host, port=cfg.mpps_port, ae_title=cfg.mpps_ae_title
            )
        if cfg.jsonl_path:
            tailer = JsonlTailer(cfg.jsonl_path, self.spool, device_id=cfg.device_id)
            self._thread("jsonl", lambda: tailer.run(self.stop_event, interval_s=cfg.jsonl_poll_s))
        return self

    def _thread(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        self.kick.set()
        if self.mpps_server is not None:
            self.mpps_server.shutdown()
        for thread in self.threads:
            thread.join(timeout=10)
        if self.monitor is not None:
            self.monitor.stop()
            self.monitor.source.close()
        if self.spool is not None:
            self.spool.close()

    def run_forever(self) -> None:
        def _stop(signum: int, _frame: Any) -> None:
            log.info("signal %d: stopping", signum)
            self.stop_event.set()
            self.kick.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        try:
            while not self.stop_event.wait(1.0):
                pass
        finally:
            self.stop()

    # -- loops --------------------------------------------------------------------------------

    def _gpu_usage(self, start: float, end: float) -> Usage:
        if self.monitor is None:
            return ZERO_USAGE
        return self.monitor.usage(start, end)

    def heartbeat_now(self) -> int:
        assert self.spool is not None
        sample = self.monitor.sample_now() if self.monitor is not None else None
        xid = self.monitor.source.xid_errors if self.monitor is not None else 0
        data = heartbeat_data(sample, uptime_s=host_uptime_s(self._t0), xid_errors=xid)
        device = self.config.device_id
        seq = self.spool.append(
            kind="heartbeat", data=data, occurred_at=datetime.now(UTC), idempotency_key=lambda s: f"hb-{device}-{s}"
        )
        self.kick.set()
        return seq

    def _heartbeat_loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.heartbeat_now()
            except Exception:
                log.exception("heartbeat failed")
            self.stop_event.wait(self.config.heartbeat_interval_s)

    def _upload_loop(self) -> None:
        assert self.uploader is not None
        while not self.stop_event.is_set():
            try:
                report = self.uploader.drain(stop=self.stop_event)
            except Exception:
                log.exception("upload loop error")
                report = None
            if report is not None and report.fatal is not None:
                log.error("uploads paused for %.0f s after %s", self.config.fatal_pause_s, report.fatal.error)
                self.stop_event.wait(self.config.fatal_pause_s)
                continue
            self.kick.wait(self.config.upload_interval_s)
            self.kick.clear()
