"""MedRWA device-side telemetry agent.

Collects usage from an imaging device (DICOM MPPS, NVML GPU counters, or a JSON-lines
file), keeps it in a local SQLite spool and uploads it, signed, to the platform
(`docs/telemetry-protocol.md`). Imports nothing from the rest of the project.

Public entry points other code may reuse (e.g. platform-side tests):

- `agent.signing.sign(secret, timestamp, body)` / `agent.signing.signed_headers(...)` /
  `agent.signing.verify(...)`
- `agent.events.encode_body(events)` — the exact JSON bytes the agent sends
- `agent.uploader.build_uploader(url=..., key_id=..., secret=..., spool_path=...)`
- `agent.spool.Spool`, `agent.simulate.generate(...)`
"""

__version__ = "0.1.0"

PROTOCOL_PATH = "/api/v1/telemetry/batches"
