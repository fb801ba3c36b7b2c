"""One simulated agent per demo device (`agents:` in platform/Procfile): issues the demo
credential if missing and runs `medrwa-agent simulate --realtime` against the platform."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from telemetry.demo import demo_credential, demo_devices, sim_modality, spool_path


class Command(BaseCommand):
    help = "Run one simulated telemetry agent per certified demo device until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=os.environ.get("MEDRWA_URL", getattr(settings, "SITE_URL", "")))
        parser.add_argument("--speed", type=float, default=1.0)
        parser.add_argument("--wait", type=float, default=60.0,
                            help="seconds between looks for a certified device when there is none")

    def handle(self, *args, url, speed, wait, **options):
        devices = list(demo_devices())
        while not devices:
            self.stdout.write("no certified device yet; waiting")
            time.sleep(wait)
            devices = list(demo_devices())
        procs: list[subprocess.Popen] = []
        for device in devices:
            got = demo_credential(device)
            if got is None:
                self.stderr.write(f"{device}: no clinic admin to issue a key; skipped")
                continue
            cred, secret = got
            path = spool_path(device)
            path.parent.mkdir(parents=True, exist_ok=True)
            secret_file = path.parent / "secret"
            secret_file.touch(mode=0o600)
            secret_file.write_text(secret)
            env = {**os.environ, "MEDRWA_URL": url, "MEDRWA_KEY_ID": cred.key_id,
                   "MEDRWA_SECRET_FILE": str(secret_file), "MEDRWA_SPOOL": str(path),
                   "MEDRWA_DEVICE_ID": f"device-{device.pk}"}
            env.pop("MEDRWA_SECRET", None)
            cmd = [sys.executable, "-m", "agent", "simulate", "--modality", sim_modality(device), "--realtime",
                   "--speed", str(speed), "--seed", str(device.pk), "--tz", "UTC"]
            if speed != 1:
                cmd += ["--days", "1"]  # a sped-up replay must end at "now" (agent README)
            procs.append(subprocess.Popen(cmd, env=env, cwd=str(Path(settings.BASE_DIR))))  # noqa: S603
            self.stdout.write(f"agent for {device} ({cred.key_id}) started, pid {procs[-1].pid}")

        def stop(*_):
            for p in procs:
                if p.poll() is None:
                    p.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while any(p.poll() is None for p in procs):
                time.sleep(1)
        except KeyboardInterrupt:
            stop()
        for p in procs:
            p.wait(timeout=30)
