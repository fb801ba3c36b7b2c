import json
import time

import pytest
from agent_testkit import KEY_ID, SECRET, ingest_fixture, procedure  # noqa: F401

from agent.cli import main
from agent.fakenvml import SimulatedNvml
from agent.runner import Agent
from agent.settings import ConfigError, load_config
from agent.spool import Spool


def write_config(tmp_path, url):
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f"""
[platform]
url = "{url}"
key_id = "{KEY_ID}"
secret = "{SECRET}"
batch_size = 100
upload_interval_s = 0.05
backoff_base_s = 0.01

[spool]
path = "{tmp_path / "spool.db"}"

[device]
id = "CT01"

[gpu]
enabled = "auto"
sample_interval_s = 0.05
heartbeat_interval_s = 0.1
""")
    return cfg


def test_config_toml_env_and_secret_hidden(tmp_path):
    cfg = load_config(
        write_config(tmp_path, "http://x"), env={"MEDRWA_URL": "http://y", "MEDRWA_SPOOL": str(tmp_path / "o.db")}
    )
    assert cfg.url == "http://y" and cfg.spool.endswith("o.db") and cfg.batch_size == 100
    assert SECRET not in repr(cfg) and SECRET not in json.dumps(cfg.public())
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    assert load_config(env={"MEDRWA_SECRET_FILE": str(secret_file)}).secret == "from-file"
    bad = tmp_path / "bad.toml"
    bad.write_text("[platform]\nnope = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config(bad, env={})
    with pytest.raises(ConfigError, match="MEDRWA_SECRET"):
        load_config(env={"MEDRWA_URL": "http://x", "MEDRWA_KEY_ID": "k"}).validate_upload()


def test_simulate_upload_and_status(tmp_path, ingest, capsys):
    cfg = write_config(tmp_path, ingest.url)
    rc = main(
        [
            "simulate",
            "--config",
            str(cfg),
            "--modality",
            "CT",
            "--days",
            "1",
            "--seed",
            "5",
            "--tz",
            "UTC",
            "--heartbeat-every",
            "3600",
        ]
    )
    assert rc == 0
    procs = [e for e in ingest.stored.values() if e["kind"] == "procedure"]
    assert 15 <= len(procs) <= 45
    assert ingest.errors == []
    capsys.readouterr()
    assert main(["status", "--config", str(cfg), "--json"]) == 0
    out = capsys.readouterr()
    stats = json.loads(out.out)
    assert stats["depth"] == 0 and stats["last_seq"] == len(ingest.stored)
    assert stats["last_upload_status"].startswith("HTTP 200")
    assert SECRET not in out.out + out.err


def test_missing_credentials_is_a_clear_error(tmp_path, capsys, monkeypatch):
    for var in ("MEDRWA_URL", "MEDRWA_KEY_ID", "MEDRWA_SECRET"):
        monkeypatch.delenv(var, raising=False)
    rc = main(["simulate", "--modality", "MR", "--days", "1", "--spool", str(tmp_path / "s.db")])
    assert rc == 2
    assert "missing" in capsys.readouterr().err


def test_agent_runs_heartbeats_and_jsonl_and_uploads(tmp_path, ingest):
    cfg = load_config(write_config(tmp_path, ingest.url), env={})
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text(
        json.dumps(
            {
                "kind": "procedure",
                "idempotency_key": "7.7.7",
                "occurred_at": "2026-11-29T10:15:00Z",
                "data": procedure("7.7.7"),
            }
        )
        + "\n"
    )
    cfg.jsonl_path = str(jsonl)
    cfg.jsonl_poll_s = 0.05
    nv = SimulatedNvml()
    nv.set_load(util_pct=40, power_w=150)
    agent = Agent(cfg, nvml=nv).start()
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            kinds = [e["kind"] for e in ingest.stored.values()]
            if "procedure" in kinds and kinds.count("heartbeat") >= 2:
                break
            time.sleep(0.05)
    finally:
        agent.stop()
    beats = [e for e in ingest.stored.values() if e["kind"] == "heartbeat"]
    assert len(beats) >= 2 and "7.7.7" in ingest.stored
    hb = beats[0]
    assert hb["idempotency_key"] == f"hb-CT01-{hb['seq']}"
    assert hb["data"]["gpu_power_w"] == "150.0" and hb["data"]["gpu_util_pct"] == 40
    assert isinstance(hb["data"]["gpu_energy_total_j"], str)
    with Spool(cfg.spool) as spool:  # restart: the JSON-lines offset was kept
        assert spool.last_seq() >= 3


def test_agent_without_driver_still_runs(tmp_path, ingest):
    cfg = load_config(write_config(tmp_path, ingest.url), env={})
    nv = SimulatedNvml(init_error=SimulatedNvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    agent = Agent(cfg, nvml=nv).start()
    try:
        assert agent.monitor is None
    finally:
        agent.stop()
    cfg.gpu = "on"
    with pytest.raises(ConfigError, match="NVML is unavailable"):
        Agent(cfg, nvml=nv).start()


def test_log_redaction_filter(capsys):
    import logging

    from agent.settings import setup_logging

    setup_logging("INFO", secret="hunter2-secret")
    try:
        logging.getLogger("medrwa.test").info("oops %s", "hunter2-secret")
        assert "hunter2-secret" not in capsys.readouterr().err
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            root.removeHandler(handler)
