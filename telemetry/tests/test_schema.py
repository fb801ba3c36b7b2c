"""The hand-written hot-path checks must agree with the published JSON Schema."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry import schema
from tests.fixtures.telemetry import heartbeat, procedure


def _jsonschema_ok(name, doc):
    return not schema.describe_errors(name, doc)


def _mutations():
    base = {"events": [procedure(1), heartbeat(2)]}
    yield base
    for path, value in [
        (("events", 0, "seq"), 0), (("events", 0, "seq"), "1"), (("events", 0, "seq"), True),
        (("events", 0, "kind"), "other"), (("events", 0, "idempotency_key"), ""),
        (("events", 0, "idempotency_key"), "x" * 129), (("events", 0, "occurred_at"), "2026-01-01 10:00"),
        (("events", 0, "occurred_at"), "2026-01-01T10:00:00"), (("events", 0, "data"), []),
        (("events", 1), "heartbeat"), (("events",), []), (("events",), {}),
    ]:
        doc = copy.deepcopy(base)
        target = doc
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
        yield doc
    yield []


@pytest.mark.parametrize("doc", list(_mutations()))
def test_envelope_check_agrees_with_jsonschema(doc):
    assert schema.check_envelope(doc) == _jsonschema_ok("envelope", doc)


def _data_mutations():
    p, h = procedure(1)["data"], heartbeat(1)["data"]
    yield "procedure", p
    yield "heartbeat", h
    for field, value in [("modality", "XX"), ("cpt_code", "7417"), ("cpt_code", None), ("status", "IN PROGRESS"),
                         ("started_at", "yesterday"), ("gpu_seconds", "-1"), ("gpu_seconds", 95.5),
                         ("gpu_energy_j", "1e5"), ("image_count", -1), ("series_count", None),
                         ("station_ae", "A" * 17), ("reason_code", 110501)]:
        yield "procedure", {**p, field: value}
    for field, value in [("gpu_util_pct", 101), ("gpu_util_pct", None), ("gpu_temp_c", -1), ("gpu_power_w", "2.5.1"),
                         ("uptime_s", "1"), ("ecc_errors", 0), ("xid_errors", -2)]:
        yield "heartbeat", {**h, field: value}
    yield "procedure", {k: v for k, v in p.items() if k != "ended_at"}


@pytest.mark.parametrize(("kind", "data"), list(_data_mutations()))
def test_data_check_agrees_with_jsonschema(kind, data):
    assert (schema.check_data(kind, data) is None) == _jsonschema_ok(kind, data)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["gpu_util_pct", "gpu_power_w", "uptime_s", "gpu_temp_c"]),
                       st.one_of(st.none(), st.integers(-5, 200), st.text(max_size=6),
                                 st.decimals(0, 10**6, places=2).map(str))))
def test_heartbeat_check_agrees_on_random_data(data):
    assert (schema.check_data("heartbeat", data) is None) == _jsonschema_ok("heartbeat", data)
