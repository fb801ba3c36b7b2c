"""Agent configuration: a TOML file (tomllib) overridden by environment variables.

Environment: MEDRWA_URL, MEDRWA_KEY_ID, MEDRWA_SECRET (or MEDRWA_SECRET_FILE),
MEDRWA_SPOOL, MEDRWA_DEVICE_ID. The secret is never part of a repr or a log line.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_SPOOL = "var/agent/spool.db"


class ConfigError(ValueError):
    pass


@dataclass
class AgentConfig:
    url: str = ""
    key_id: str = ""
    secret: str = field(default="", repr=False)
    spool: str = DEFAULT_SPOOL
    device_id: str = ""
    timezone: str = ""
    batch_size: int = 500
    timeout_s: float = 30.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 300.0
    upload_interval_s: float = 5.0
    fatal_pause_s: float = 600.0
    gpu: str = "auto"  # auto | on | off
    gpu_index: int = 0
    sample_interval_s: float = 1.0
    heartbeat_interval_s: float = 60.0
    mpps: bool = False
    mpps_host: str = "0.0.0.0"  # noqa: S104 - modalities connect over the network
    mpps_port: int = 11112
    mpps_ae_title: str = "MEDRWA"
    jsonl_path: str = ""
    jsonl_poll_s: float = 1.0

    def __post_init__(self) -> None:
        if not self.device_id:
            self.device_id = self.key_id or "device"

    def validate_upload(self) -> None:
        missing = [n for n in ("url", "key_id", "secret") if not getattr(self, n)]
        if missing:
            names = ", ".join(f"MEDRWA_{n.upper()}" for n in missing)
            raise ConfigError(f"missing {', '.join(missing)} (config file or {names})")
        if not 1 <= self.batch_size <= 1000:
            raise ConfigError("batch_size must be between 1 and 1000")
        if self.gpu not in ("auto", "on", "off"):
            raise ConfigError("gpu must be auto, on or off")

    def public(self) -> dict[str, Any]:
        """Everything but the secret (for `status` and logs)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "secret"}
        out["secret"] = "set" if self.secret else "missing"
        return out


# TOML section.key → field name
_TOML_MAP = {
    ("platform", "url"): "url",
    ("platform", "key_id"): "key_id",
    ("platform", "secret"): "secret",
    ("platform", "batch_size"): "batch_size",
    ("platform", "timeout_s"): "timeout_s",
    ("platform", "backoff_base_s"): "backoff_base_s",
    ("platform", "backoff_cap_s"): "backoff_cap_s",
    ("platform", "upload_interval_s"): "upload_interval_s",
    ("platform", "fatal_pause_s"): "fatal_pause_s",
    ("spool", "path"): "spool",
    ("device", "id"): "device_id",
    ("device", "timezone"): "timezone",
    ("gpu", "enabled"): "gpu",
    ("gpu", "index"): "gpu_index",
    ("gpu", "sample_interval_s"): "sample_interval_s",
    ("gpu", "heartbeat_interval_s"): "heartbeat_interval_s",
    ("mpps", "enabled"): "mpps",
    ("mpps", "host"): "mpps_host",
    ("mpps", "port"): "mpps_port",
    ("mpps", "ae_title"): "mpps_ae_title",
    ("jsonl", "path"): "jsonl_path",
    ("jsonl", "poll_interval_s"): "jsonl_poll_s",
}
_ENV_MAP = {
    "MEDRWA_URL": "url",
    "MEDRWA_KEY_ID": "key_id",
    "MEDRWA_SECRET": "secret",
    "MEDRWA_SPOOL": "spool",
    "MEDRWA_DEVICE_ID": "device_id",
}


def load_config(
    path: str | Path | None = None, *, env: Mapping[str, str] | None = None, **overrides: Any
) -> AgentConfig:
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML in {path}: {exc}") from exc
        for section, table in raw.items():
            if not isinstance(table, dict):
                raise ConfigError(f"[{section}] must be a table")
            for key, value in table.items():
                if key == "secret_file" and section == "platform":
                    values["secret"] = _read_secret(value)
                    continue
                name = _TOML_MAP.get((section, key))
                if name is None:
                    raise ConfigError(f"unknown setting [{section}] {key}")
                values[name] = value
    if env.get("MEDRWA_SECRET_FILE"):
        values["secret"] = _read_secret(env["MEDRWA_SECRET_FILE"])
    for var, name in _ENV_MAP.items():
        if env.get(var):
            values[name] = env[var]
    values.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(values.get("gpu"), bool):
        values["gpu"] = "on" if values["gpu"] else "off"
    types = {f.name: f.type for f in fields(AgentConfig)}
    for name, value in list(values.items()):
        kind = types[name]
        try:
            if kind == "int" and not isinstance(value, int):
                values[name] = int(value)
            elif kind == "float" and not isinstance(value, float):
                values[name] = float(value)
            elif kind == "bool" and isinstance(value, str):
                values[name] = value.strip().lower() in ("1", "true", "yes", "on")
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from exc
    return AgentConfig(**values)


def _read_secret(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read secret file: {exc.strerror}") from exc


class RedactFilter(logging.Filter):
    """Belt and braces: replace the secret wherever it would appear in a log record."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for s in self.secrets:
                    message = message.replace(s, "***")
                record.msg, record.args = message, ()
            if record.exc_info and record.exc_info[1] is not None:
                text = str(record.exc_info[1])
                if any(s in text for s in self.secrets):
                    record.exc_info = None
                    record.exc_text = None
        return True


def setup_logging(level: str = "INFO", *, secret: str = "") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactFilter(secret))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("pynetdicom", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
