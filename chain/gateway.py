"""The web3 side of the port: provider, keys, artifacts, read calls, log decoding.
The only module (with the rest of `chain/`) that imports web3 / eth_account."""

from __future__ import annotations

import functools
import json
import pathlib
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from eth_abi import decode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.logs import DISCARD

from core.errors import ApplicationError

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


WALLET_SENDER_PREFIX = "wallet:"
_KEY_PROVIDERS: list[str] = []


def register_key_provider(dotted_path: str) -> None:
    """Register `fn(address) -> hex private key | None` for platform-held (custodial) wallets.
    Called by an app's ready(), so chain never imports the app that stores the keys."""
    if dotted_path not in _KEY_PROVIDERS:
        _KEY_PROVIDERS.append(dotted_path)


def wallet_sender(address: str) -> str:
    """The outbox `sender` for a custodial wallet: "wallet:<checksum address>"."""
    return WALLET_SENDER_PREFIX + to_checksum_address(address)


def is_wallet_sender(sender: str) -> bool:
    if not sender.startswith(WALLET_SENDER_PREFIX):
        return False
    try:
        to_checksum_address(sender[len(WALLET_SENDER_PREFIX):])
    except (ValueError, TypeError):
        return False
    return True


def _wallet_account(sender: str) -> LocalAccount:
    address = to_checksum_address(sender[len(WALLET_SENDER_PREFIX):])
    for path in _KEY_PROVIDERS:
        key = import_string(path)(address)
        if key:
            acct = Account.from_key(key)
            if acct.address != address:  # a provider bug must never sign as someone else
                raise ImproperlyConfigured(f"Key provider {path} returned a key for {acct.address}, not {address}.")
            return acct
    raise ImproperlyConfigured(f"No key provider holds a key for {address}.")


def account(sender: str) -> LocalAccount:
    """The signing account of an outbox sender: "operator" / "agent" (see `role_account`) or
    "wallet:<address>" (a custodial wallet, key from a registered provider; never cached)."""
    if sender.startswith(WALLET_SENDER_PREFIX):
        return _wallet_account(sender)
    return role_account(sender)


@functools.cache
def role_account(role: str) -> LocalAccount:
    """The signing account for `role` ("operator" | "agent"): an encrypted keystore file
    `<CHAIN_KEYSTORE_DIR>/<role>.json` when present, else the hex key from the environment."""
    if role not in ("operator", "agent"):
        raise ValueError(f"Unknown chain sender {role!r}")
    name = f"CHAIN_{role.upper()}_KEY"
    acct = _keystore_account(role)
    if acct is None:
        key = getattr(settings, name, "")
        if not key:
            raise ImproperlyConfigured(f"{name} (or a keystore) is required.")
        acct = Account.from_key(key)
    # Checked on the derived key, so a keystore holding an anvil account is refused as well.
    if not getattr(settings, "CHAIN_ALLOW_DEV_KEYS", False) and (
            acct.key.hex().removeprefix("0x") in getattr(settings, "CHAIN_DEV_KEYS", ())):
        raise ImproperlyConfigured(f"{name} is one of anvil's public development keys; refused outside "
                                   "a local chain.")
    return acct


# Tests and ops reset the cached role keys through `account.cache_clear()`.
account.cache_clear = role_account.cache_clear  # type: ignore[attr-defined]


def address_of(sender: str) -> str:
    if sender.startswith(WALLET_SENDER_PREFIX):
        return to_checksum_address(sender[len(WALLET_SENDER_PREFIX):])
    return role_account(sender).address


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


def keccak_text(value: str) -> str:
    """keccak256 of a UTF-8 string as 0x-hex: what a log carries for an `indexed string`
    argument (the value itself is not in the log)."""
    return "0x" + bytes(Web3.keccak(text=value)).hex()


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


@functools.cache
def _error_abis() -> dict[str, dict]:
    out = {}
    for path in ARTIFACTS_DIR.glob("*.json"):
        for e in json.loads(path.read_text())["abi"]:
            if e["type"] == "error":
                sig = f"{e['name']}({','.join(_canonical(i) for i in e['inputs'])})"
                out.setdefault("0x" + bytes(Web3.keccak(text=sig))[:4].hex(), e)
    return out


def error_description(data: str) -> str:
    """"Name(arg, …)" for custom-error revert data (e.g. "TransferRestricted(6)"), so callers
    can explain a refusal by its arguments (an ERC-1404 code), not only its name; "" if unknown."""
    e = _error_abis().get((data or "")[:10].lower())
    if e is None:
        return ""
    try:
        values = decode([_canonical(i) for i in e["inputs"]], bytes.fromhex(data[10:]))
    except Exception:
        return e["name"]
    return f"{e['name']}({', '.join(str(to_jsonable(v)) for v in values)})"


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


# ---------------------------------------------------------------- wallets the platform signs for


def encode_call(contract_name: str, address: str, function: str, *args) -> dict:
    """{to, data} of a call, for a browser wallet to sign and send (EIP-1193 eth_sendTransaction)."""
    c = contract(contract_name, address)
    data = c.encode_abi(function, args=coerce_args(contract_name, function, list(args)))
    return {"to": to_checksum_address(address), "data": data if isinstance(data, str) else "0x" + bytes(data).hex()}


def sign_permit(*, private_key: str, token: str, owner: str, spender: str, value: int, deadline: int) -> dict:
    """An EIP-2612 permit signed with a custodial key (the key never leaves this call): lets
    the platform's agent move the wallet's stablecoin while paying the gas itself."""
    c = contract("MockStablecoin", token)
    domain = c.functions.eip712Domain().call()  # EIP-5267: (fields, name, version, chainId, contract, salt, ext)
    nonce = c.functions.nonces(to_checksum_address(owner)).call()
    message = encode_typed_data(full_message={
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                       {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                       {"name": "deadline", "type": "uint256"}],
        },
        "primaryType": "Permit",
        "domain": {"name": domain[1], "version": domain[2], "chainId": domain[3], "verifyingContract": domain[4]},
        "message": {"owner": to_checksum_address(owner), "spender": to_checksum_address(spender), "value": value,
                    "nonce": nonce, "deadline": deadline},
    })
    signed = Account.sign_message(message, private_key=private_key)
    return {"v": signed.v, "r": "0x" + signed.r.to_bytes(32, "big").hex(),
            "s": "0x" + signed.s.to_bytes(32, "big").hex(), "nonce": nonce}


def parse_tx_hash(value: str) -> str:
    """A transaction hash a browser reports (0x + 64 hex digits), lower-cased; a clear error otherwise."""
    value = (value or "").strip().lower()
    if len(value) != 66 or not value.startswith("0x"):
        raise ApplicationError("invalid_tx_hash", gettext("A transaction hash is 0x followed by 64 hex digits."),
                               details={"tx_hash": [gettext("Invalid transaction hash.")]})
    return value


def receipt_status(tx_hash: str, names: tuple[str, ...] = ("SecurityToken",)) -> dict | None:
    """A transaction sent by someone else (a browser wallet): None while unknown or pending,
    else {status, blockNumber, from, to, logs (decoded with the ABIs of `names`)}."""
    web3 = w3()
    try:
        receipt = web3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None
    except (OSError, ConnectionError) as exc:
        raise ChainUnavailable(str(exc)) from exc
    return {"status": int(receipt["status"]), "blockNumber": int(receipt["blockNumber"]),
            "from": receipt["from"], "to": receipt.get("to") or "",
            "logs": decode_logs(receipt["logs"], list(names))}


__all__ = ["DISCARD", "ZERO_ADDRESS", "ChainUnavailable", "abi", "account", "address_of", "artifact",
           "call", "coerce_args", "contract", "decode_logs", "get_logs", "has_code", "is_available", "w3"]
