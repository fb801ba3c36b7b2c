"""The web3 side of the port: provider, keys, artifacts, read calls, log decoding.
The only module (with the rest of `chain/`) that imports web3 / eth_account."""

from __future__ import annotations

import functools
import json
import pathlib
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.logs import DISCARD

ARTIFACTS_DIR = pathlib.Path(settings.BASE_DIR) / "contracts" / "build"
ZERO_ADDRESS = "0x" + "0" * 40


class ChainUnavailable(Exception):
    """The node could not be reached (or answered garbage); callers retry later."""


@functools.cache
def artifact(name: str) -> dict:
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.exists():
        raise ImproperlyConfigured(f"No contract artifact {path.name} in contracts/build/.")
    return json.loads(path.read_text())


def abi(name: str) -> list:
    return artifact(name)["abi"]


def w3(rpc_url: str | None = None) -> Web3:
    url = rpc_url or settings.CHAIN_RPC_URL
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))


def is_available() -> bool:
    # A quick yes/no: no retries with backoff (web3's default), or a stopped node costs ~5 s.
    probe = Web3(Web3.HTTPProvider(settings.CHAIN_RPC_URL, request_kwargs={"timeout": 2},
                                   exception_retry_configuration=None))
    try:
        probe.eth.chain_id  # noqa: B018
    except Exception:
        return False
    return True


def chain_id() -> int:
    try:
        return int(w3().eth.chain_id)
    except Exception as exc:
        raise ChainUnavailable(str(exc)) from exc


# ---------------------------------------------------------------- keys


def _keystore_account(role: str) -> LocalAccount | None:
    directory = getattr(settings, "CHAIN_KEYSTORE_DIR", "")
    if not directory:
        return None
    path = pathlib.Path(directory) / f"{role}.json"
    if not path.exists():
        return None
    password = getattr(settings, "CHAIN_KEYSTORE_PASSWORD", "")
    if not password:
        raise ImproperlyConfigured("CHAIN_KEYSTORE_PASSWORD is required to open the chain keystore.")
    key = Account.decrypt(json.loads(path.read_text()), password)
    return Account.from_key(key)


@functools.cache
def account(role: str) -> LocalAccount:
    """The signing account for `role` ("operator" | "agent"): an encrypted keystore file
    `<CHAIN_KEYSTORE_DIR>/<role>.json` when present, else the hex key from the environment."""
    if role not in ("operator", "agent"):
        raise ValueError(f"Unknown chain sender {role!r}")
    acct = _keystore_account(role)
    if acct is not None:
        return acct
    key = getattr(settings, f"CHAIN_{role.upper()}_KEY", "")
    if not key:
        raise ImproperlyConfigured(f"CHAIN_{role.upper()}_KEY (or a keystore) is required.")
    return Account.from_key(key)


def address_of(role: str) -> str:
    return account(role).address


def write_keystore(*, role: str, private_key: str, password: str, directory: str) -> pathlib.Path:
    """Encrypt a key into `<directory>/<role>.json` (used by ops, and by tests)."""
    path = pathlib.Path(directory) / f"{role}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(Account.encrypt(private_key, password)))
    return path


# ---------------------------------------------------------------- contracts and values


def contract(name: str, address: str | None = None, *, web3: Web3 | None = None):
    web3 = web3 or w3()
    if address:
        return web3.eth.contract(address=to_checksum_address(address), abi=abi(name))
    return web3.eth.contract(abi=abi(name), bytecode=artifact(name)["bytecode"])


def _inputs_of(name: str, function: str) -> list[dict]:
    if function == "constructor":
        items = [e for e in abi(name) if e["type"] == "constructor"]
        return items[0]["inputs"] if items else []
    for e in abi(name):
        if e["type"] == "function" and e["name"] == function:
            return e["inputs"]
    raise ImproperlyConfigured(f"{name} has no function {function}")


def _coerce(value: Any, spec: dict) -> Any:
    typ = spec["type"]
    if typ.endswith("]"):
        inner = {**spec, "type": typ[: typ.rindex("[")]}
        return [_coerce(v, inner) for v in value]
    if typ == "tuple":
        comps = spec["components"]
        if isinstance(value, dict):
            return tuple(_coerce(value[c["name"]], c) for c in comps)
        return tuple(_coerce(v, c) for v, c in zip(value, comps, strict=True))
    if typ.startswith(("uint", "int")):
        return int(value)
    if typ == "address":
        return to_checksum_address(value)
    if typ.startswith("bytes"):
        return HexBytes(value)
    return value


def coerce_args(contract_name: str, function: str, args: list) -> list:
    """Outbox args are JSON (big ints as strings, bytes as 0x-hex); turn them into what the ABI wants."""
    inputs = _inputs_of(contract_name, function)
    return [_coerce(v, s) for v, s in zip(args, inputs, strict=True)]


def to_jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > 2**53 else value
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def call(contract_name: str, address: str, function: str, *args):
    """A read-only call; returns plain Python values (bytes as 0x-hex)."""
    try:
        c = contract(contract_name, address)
        result = getattr(c.functions, function)(*coerce_args(contract_name, function, list(args))).call()
    except (OSError, ConnectionError) as exc:
        raise ChainUnavailable(str(exc)) from exc
    return to_jsonable(result)


def to_checksum(address: str) -> str:
    return to_checksum_address(address)


def has_code(address: str) -> bool:
    return bool(address) and len(w3().eth.get_code(to_checksum_address(address))) > 0


# ---------------------------------------------------------------- logs


def decode_logs(receipt_logs: list, contract_names: list[str]) -> list[dict]:
    """Decode every log we have an ABI for; unknown logs are kept raw-less (address/index)."""
    web3 = w3()
    topic_map: dict[bytes, tuple[str, str]] = {}
    for name in contract_names:
        for ev in abi(name):
            if ev["type"] != "event" or ev.get("anonymous"):
                continue
            sig = f"{ev['name']}({','.join(_canonical(i) for i in ev['inputs'])})"
            topic_map.setdefault(bytes(Web3.keccak(text=sig)), (name, ev["name"]))
    out = []
    for log in receipt_logs:
        topics = log["topics"]
        entry = {"address": log["address"], "logIndex": int(log["logIndex"]), "event": None, "args": {}}
        if topics and bytes(topics[0]) in topic_map:
            cname, ename = topic_map[bytes(topics[0])]
            ev = getattr(web3.eth.contract(abi=abi(cname)).events, ename)()
            try:
                decoded = ev.process_log(log)
                entry["event"] = ename
                entry["args"] = to_jsonable(dict(decoded["args"]))
            except Exception:  # noqa: S110 - a same-signature log of another shape stays undecoded
                pass
        out.append(entry)
    return out


@functools.cache
def _error_selectors() -> dict[str, str]:
    out = {}
    for path in ARTIFACTS_DIR.glob("*.json"):
        for e in json.loads(path.read_text())["abi"]:
            if e["type"] == "error":
                sig = f"{e['name']}({','.join(_canonical(i) for i in e['inputs'])})"
                out["0x" + bytes(Web3.keccak(text=sig))[:4].hex()] = e["name"]
    return out


def error_name(selector: str) -> str:
    """The custom error name for a 4-byte revert selector (\"0x…\"), or ""."""
    return _error_selectors().get(selector.lower(), "")


def _canonical(inp: dict) -> str:
    typ = inp["type"]
    if typ.startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in inp["components"]) + ")" + typ[5:]
    return typ


def get_logs(*, address: str, from_block: int, to_block: int, contract_name: str) -> list[dict]:
    """Decoded logs of one contract in [from_block, to_block], in chain order."""
    web3 = w3()
    raw = web3.eth.get_logs({"address": to_checksum_address(address), "fromBlock": from_block,
                             "toBlock": to_block})
    decoded = decode_logs(raw, [contract_name])
    for entry, log in zip(decoded, raw, strict=True):
        entry["blockNumber"] = int(log["blockNumber"])
        entry["transactionHash"] = "0x" + bytes(log["transactionHash"]).hex()
    return decoded


__all__ = ["DISCARD", "ZERO_ADDRESS", "ChainUnavailable", "abi", "account", "address_of", "artifact",
           "call", "coerce_args", "contract", "decode_logs", "get_logs", "has_code", "is_available", "w3"]
