#!/usr/bin/env python3
"""Compile contracts/ with solc-js (0.8.28, via scripts/solc) into slim artifacts.

    python3 scripts/compile_contracts.py           # (re)write contracts/build/<Name>.json
    python3 scripts/compile_contracts.py --check   # exit 1 if artifacts drift (no compile)
    python3 scripts/compile_contracts.py --check --full   # also recompile and compare bytecode

Artifact: {contractName, abi, bytecode, deployedBytecode, compiler: {version, settings},
sourceHash}. sourceHash = sha256 over the compiler version, the settings and the
(path, sha256) of every source file the contract's file imports (transitively, including
node_modules), so editing a contract or a dependency, or changing settings, is a drift.
Needs only python3 and node (no brownie).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "contracts"
BUILD = SRC / "build"
NODE_MODULES = ROOT / "node_modules"
SOLC = ROOT / "scripts" / "solc"
COMPILER_VERSION = "0.8.28+commit.7893614a"
SETTINGS = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "metadata": {"bytecodeHash": "none"},
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
}
IMPORT_RE = re.compile(r'^\s*import\s+(?:[^"\']*\s+from\s+)?["\']([^"\']+)["\']\s*;', re.M)
CONTRACT_RE = re.compile(r"^\s*contract\s+(\w+)", re.M)


def source_files() -> list[str]:
    """Our .sol files as unit names relative to the repo root (build/ excluded)."""
    return sorted(
        p.relative_to(ROOT).as_posix()
        for p in SRC.rglob("*.sol")
        if BUILD not in p.parents
    )


def resolve(unit: str, imp: str) -> str:
    if imp.startswith("."):
        parts = list(Path(unit).parent.parts)
        for piece in imp.split("/"):
            if piece == "..":
                parts.pop()
            elif piece not in (".", ""):
                parts.append(piece)
        return "/".join(parts)
    for mapping in SETTINGS["remappings"]:
        prefix, target = mapping.split("=", 1)
        if imp.startswith(prefix):
            return target + imp[len(prefix):]
    return imp


_cache: dict[str, str] = {}


def read(unit: str) -> str:
    if unit not in _cache:
        _cache[unit] = (ROOT / unit).read_text(encoding="utf-8")
    return _cache[unit]


def closure(unit: str) -> list[str]:
    seen: set[str] = set()
    stack = [unit]
    while stack:
        u = stack.pop()
        if u in seen:
            continue
        seen.add(u)
        stack.extend(resolve(u, i) for i in IMPORT_RE.findall(read(u)))
    return sorted(seen)


def source_hash(unit: str) -> str:
    h = hashlib.sha256()
    h.update(COMPILER_VERSION.encode())
    h.update(json.dumps(SETTINGS, sort_keys=True).encode())
    for u in closure(unit):
        h.update(u.encode() + b"\0" + hashlib.sha256(read(u).encode()).hexdigest().encode())
    return "0x" + h.hexdigest()


def expected_contracts() -> dict[str, str]:
    """contract name -> defining unit (concrete `contract` declarations only)."""
    out = {}
    for unit in source_files():
        for name in CONTRACT_RE.findall(read(unit)):
            out[name] = unit
    return out


def compile_all() -> dict[str, dict]:
    units = set()
    for u in source_files():
        units.update(closure(u))
    std_in = {
        "language": "Solidity",
        "sources": {u: {"content": read(u)} for u in sorted(units)},
        "settings": {
            **{k: v for k, v in SETTINGS.items() if k != "remappings"},
            "remappings": SETTINGS["remappings"],
            "outputSelection": {
                u: {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
                for u in source_files()
            },
        },
    }
    proc = subprocess.run(
        ["node", str(SOLC), "--standard-json"],
        input=json.dumps(std_in), capture_output=True, text=True, cwd=ROOT, check=True,
    )
    out = json.loads(proc.stdout)
    errors = [e for e in out.get("errors", []) if e["severity"] == "error"]
    for e in out.get("errors", []):
        print(e.get("formattedMessage", e["message"]), file=sys.stderr)
    if errors:
        raise SystemExit("compilation failed")
    artifacts = {}
    for name, unit in expected_contracts().items():
        c = out["contracts"][unit][name]
        artifacts[name] = {
            "contractName": name,
            "abi": c["abi"],
            "bytecode": "0x" + c["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
            "compiler": {"version": COMPILER_VERSION, "settings": SETTINGS},
            "sourceHash": source_hash(unit),
        }
    return artifacts


def dump(artifact: dict) -> str:
    return json.dumps(artifact, indent=1, sort_keys=False) + "\n"


def check(full: bool) -> int:
    problems = []
    expected = expected_contracts()
    present = {p.stem: p for p in BUILD.glob("*.json")}
    for name in sorted(set(present) - set(expected)):
        problems.append(f"{name}: artifact without a contract")
    for name, unit in sorted(expected.items()):
        if name not in present:
            problems.append(f"{name}: artifact missing")
            continue
        art = json.loads(present[name].read_text())
        if art.get("sourceHash") != source_hash(unit):
            problems.append(f"{name}: sources changed since the artifact was built")
        if art.get("compiler", {}).get("version") != COMPILER_VERSION:
            problems.append(f"{name}: compiler version differs")
    if full and not problems:
        fresh = compile_all()
        for name, art in fresh.items():
            if dump(art) != present[name].read_text():
                problems.append(f"{name}: recompiled artifact differs")
    for p in problems:
        print("drift:", p, file=sys.stderr)
    if problems:
        print("run: python3 scripts/compile_contracts.py", file=sys.stderr)
        return 1
    print(f"ok: {len(expected)} artifacts match their sources")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="verify artifacts, do not write")
    ap.add_argument("--full", action="store_true", help="with --check: recompile and compare")
    args = ap.parse_args()
    if args.check:
        return check(args.full)
    artifacts = compile_all()
    BUILD.mkdir(exist_ok=True)
    for stale in BUILD.glob("*.json"):
        if stale.stem not in artifacts:
            stale.unlink()
    for name, art in artifacts.items():
        (BUILD / f"{name}.json").write_text(dump(art))
        size = (len(art["deployedBytecode"]) - 2) // 2
        print(f"{name}: {size} bytes runtime")
    return 0


if __name__ == "__main__":
    sys.exit(main())
