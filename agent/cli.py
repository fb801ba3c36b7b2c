"""`medrwa-agent` command line: run, simulate, mpps, compute, status."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from agent import __version__, simulate
from agent.compute import measure, run_command, spool_job
from agent.gpu import NvmlSource, NvmlUnavailable
from agent.runner import Agent
from agent.settings import AgentConfig, ConfigError, load_config, setup_logging
from agent.spool import Spool
from agent.uploader import Uploader

log = logging.getLogger("medrwa.agent.cli")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="medrwa-agent", description="MedRWA device telemetry agent")
    p.add_argument("--version", action="version", version=f"medrwa-agent {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", "-c", help="TOML config file (env vars override it)")
        sp.add_argument("--spool", help="spool database path (overrides config/env)")
        sp.add_argument("--log-level", default="INFO")

    run = sub.add_parser("run", help="run the agent (sources from the config, uploader)")
    common(run)

    sim = sub.add_parser("simulate", help="generate realistic CT/MR usage into the spool")
    common(sim)
    sim.add_argument("--modality", required=True, type=str.upper, choices=["CT", "MR", "MRI"])
    sim.add_argument("--days", type=float, help="back-fill this many days ending now")
    sim.add_argument(
        "--realtime", action="store_true", help="emit events as (simulated) time passes instead of back-filling"
    )
    sim.add_argument(
        "--speed", type=float, default=1.0, help="real-time speed-up; with --days replays the last N days up to now"
    )
    sim.add_argument("--seed", type=int)
    sim.add_argument("--tz", help="IANA time zone of the site (opening hours); default local")
    sim.add_argument("--heartbeat-every", type=int, default=300, metavar="SECONDS")
    sim.add_argument("--no-upload", action="store_true", help="only fill the spool")

    mpps = sub.add_parser("mpps", help="start the DICOM MPPS SCP (plus GPU + uploader)")
    common(mpps)
    mpps.add_argument("--port", type=int, default=None)
    mpps.add_argument("--host", default=None)
    mpps.add_argument("--ae-title", default=None)
    mpps.add_argument("--no-upload", action="store_true", help="only fill the spool")

    job = sub.add_parser("compute", help="run a compute job on an idle GPU, measure it and report it")
    common(job)
    job.add_argument("--gpu-index", type=int, default=None, help="GPU to measure (default: the config's)")
    job.add_argument("--job-id", default=None, help="idempotency key of the job (default: a new UUID)")
    job.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help="NVML sampling interval")
    job.add_argument("--no-upload", action="store_true", help="only fill the spool")
    job.add_argument("argv", nargs=argparse.REMAINDER, help="-- the job's command line")

    status = sub.add_parser("status", help="spool depth, last seq, last upload")
    common(status)
    status.add_argument("--json", action="store_true")
    return p


def _config(args: argparse.Namespace, **overrides: Any) -> AgentConfig:
    return load_config(args.config, spool=args.spool, **overrides)


def _tz(name: str | None) -> tzinfo:
    if name:
        return ZoneInfo(name)
    return datetime.now().astimezone().tzinfo or UTC


def cmd_run(args: argparse.Namespace) -> int:
    cfg = _config(args)
    setup_logging(args.log_level, secret=cfg.secret)
    log.info("config: %s", cfg.public())
    Agent(cfg).start().run_forever()
    return 0


def cmd_mpps(args: argparse.Namespace) -> int:
    cfg = _config(args, mpps=True, mpps_port=args.port, mpps_host=args.host, mpps_ae_title=args.ae_title)
    setup_logging(args.log_level, secret=cfg.secret)
    upload = not args.no_upload
    if upload and not (cfg.url and cfg.key_id and cfg.secret):
        log.warning("no platform credentials: events are only spooled")
        upload = False
    Agent(cfg, upload=upload).start().run_forever()
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    cfg = _config(args)
    setup_logging(args.log_level, secret=cfg.secret)
    if not args.realtime and args.days is None:
        raise ConfigError("give --days N to back-fill, or --realtime")
    upload = not args.no_upload
    if upload:
        cfg.validate_upload()
    tz = _tz(args.tz or cfg.timezone or None)
    with Spool(cfg.spool) as spool:
        uploader = None
        if upload:
            uploader = Uploader(
                url=cfg.url,
                key_id=cfg.key_id,
                secret=cfg.secret,
                spool=spool,
                batch_size=cfg.batch_size,
                timeout_s=cfg.timeout_s,
                backoff_base_s=cfg.backoff_base_s,
                backoff_cap_s=cfg.backoff_cap_s,
            )
        if not args.realtime:
            counts = simulate.backfill(
                spool,
                modality=args.modality,
                days=args.days,
                device_id=cfg.device_id,
                seed=args.seed,
                tz=tz,
                heartbeat_every_s=args.heartbeat_every,
            )
            log.info(
                "spooled %d procedure(s), %d compute job(s), %d heartbeat(s); spool depth %d",
                counts["procedure"],
                counts["compute_job"],
                counts["heartbeat"],
                spool.depth(),
            )
            if uploader is not None:
                report = uploader.drain()
                log.info(
                    "uploaded: accepted=%d duplicate=%d rejected=%d; left %d",
                    report.accepted,
                    report.duplicate,
                    report.rejected,
                    spool.depth(),
                )
                return 1 if report.fatal else 0
            return 0
        stop = threading.Event()
        kick = threading.Event()
        thread = None
        if uploader is not None:

            def loop() -> None:
                while not stop.is_set():
                    report = uploader.drain(stop=stop)
                    if report.fatal is not None:
                        stop.wait(cfg.fatal_pause_s)
                    kick.wait(cfg.upload_interval_s)
                    kick.clear()

            thread = threading.Thread(target=loop, name="uploader", daemon=True)
            thread.start()
        try:
            n = simulate.realtime(
                spool,
                modality=args.modality,
                device_id=cfg.device_id,
                speed=args.speed,
                days=args.days,
                seed=args.seed,
                tz=tz,
                heartbeat_every_s=args.heartbeat_every,
                stop=stop,
                on_event=lambda ev, seq: kick.set(),
            )
            log.info("simulation finished: %d event(s)", n)
            if uploader is not None:
                stop.set()
                kick.set()
                thread.join(timeout=30)
                uploader.drain()
        except KeyboardInterrupt:
            stop.set()
        return 0


def cmd_compute(args: argparse.Namespace, *, nvml: Any = None) -> int:
    cfg = _config(args)
    setup_logging(args.log_level, secret=cfg.secret)
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise ConfigError("give the job's command after --")
    index = cfg.gpu_index if args.gpu_index is None else args.gpu_index
    try:
        source = NvmlSource(nvml=nvml, index=index).open()
    except NvmlUnavailable as exc:
        # A job that cannot be measured cannot be sold: refuse rather than report zeros.
        raise ConfigError(f"compute jobs need NVML: {exc}") from exc
    try:
        rc, data = measure(source, run_command(argv), job_id=args.job_id, interval_s=args.interval)
    finally:
        source.close()
    if rc != 0:
        log.error("job exited with %d: not reported", rc)
        return rc
    with Spool(cfg.spool) as spool:
        seq = spool_job(spool, data)
        log.info("compute job %s: %s GPU s, %s J (seq %d)", data["job_id"], data["gpu_seconds"],
                 data["gpu_energy_j"], seq)
        if not args.no_upload and cfg.url and cfg.key_id and cfg.secret:
            report = Uploader(url=cfg.url, key_id=cfg.key_id, secret=cfg.secret, spool=spool,
                              batch_size=cfg.batch_size, timeout_s=cfg.timeout_s, backoff_base_s=cfg.backoff_base_s,
                              backoff_cap_s=cfg.backoff_cap_s).drain()
            return 1 if report.fatal else 0
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    cfg = _config(args)
    with Spool(cfg.spool) as spool:
        stats = spool.stats()
    stats["platform_url"] = cfg.url or None
    stats["key_id"] = cfg.key_id or None
    if args.json:
        sys.stdout.write(json.dumps(stats, indent=2) + "\n")
    else:
        for key, value in stats.items():
            sys.stdout.write(f"{key:20} {value if value is not None else '-'}\n")
    return 0


COMMANDS = {"run": cmd_run, "simulate": cmd_simulate, "mpps": cmd_mpps, "compute": cmd_compute,
            "status": cmd_status}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        sys.stderr.write(f"medrwa-agent: configuration error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
