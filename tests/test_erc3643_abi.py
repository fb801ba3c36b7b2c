"""Our contracts keep the ERC-3643 (T-REX 4.1.6) ABI surface exactly.

An external ERC-3643 conformance suite drives the deployed contracts through their ABI, so
every function and event the standard's interfaces define must be in our committed
artifacts (contracts/build/*.json) with the same name, input types, output types and state
mutability, and every event with the same name, parameter types and `indexed` flags. The
reference is read from the interface artifacts the T-REX package ships in node_modules
(a devDependency); nothing is copied from it.

Mapping (ours -> reference):
  SecurityToken    -> IToken (includes the inherited IERC20 / IERC20Metadata surface)
  SecurityToken    -> IModularCompliance, the functions that make sense for built-in
                      compliance (`compliance()` returns the token itself)
  IdentityRegistry -> IIdentityRegistry
  SecurityToken, IdentityRegistry -> AgentRole (T-REX 4.1.6 ships no IAgentRole
                      interface; `AgentRole` is the contract both T-REX's token and registry
                      inherit, so its ABI is the agent-role surface)

A standard member we deliberately do not implement must be listed in NOT_IMPLEMENTED with
a one-line reason; a listed member that we do implement (or that the reference no longer
has) is an error too, so the lists cannot go stale. No chain, no brownie, no Django.
"""

from __future__ import annotations

import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "contracts" / "build"
TREX = ROOT / "node_modules" / "@tokenysolutions" / "t-rex"
TREX_ARTIFACTS = TREX / "artifacts" / "contracts"
TREX_VERSION = "4.1.6"

REFERENCE = {
    "IToken": "token/IToken.sol/IToken.json",
    "IIdentityRegistry": "registry/interface/IIdentityRegistry.sol/IIdentityRegistry.json",
    "IModularCompliance": "compliance/modular/IModularCompliance.sol/IModularCompliance.json",
    "AgentRole": "roles/AgentRole.sol/AgentRole.json",
}

# IModularCompliance members that make sense for compliance built into the token: the
# transfer check and the read-only views (bound token = the token itself, no modules).
# The rest of IModularCompliance is in NOT_IMPLEMENTED below.
COMPLIANCE_SUBSET = {
    "function": {"canTransfer", "getTokenBound", "getModules", "isModuleBound"},
    "event": {"TokenBound"},
}

_CLAIMS = "no on-chain claim verification: KYC is checked off chain and recorded as identity + expiry"
_MODULES = "no compliance modules: the rules are built in (setComplianceParams / setCountriesAllowed)"
_HOOKS = "hook a T-REX token calls on its separate compliance; ours updates state inside transfer/mint/burn"
_BINDING = "compliance is the token itself (compliance() == token), bound for life by initialize"

# (contract, kind, name) -> why it is deliberately absent.
NOT_IMPLEMENTED: dict[tuple[str, str, str], str] = {
    # AgentRole (OZ 4 Ownable)
    ("SecurityToken", "function", "renounceOwnership"):
        "an ownerless token could never change agents or rules, and owner() == 0 marks an uninitialised clone",
    ("IdentityRegistry", "function", "renounceOwnership"):
        "an ownerless registry could never add or remove agents again",
    # IIdentityRegistry: trusted issuers / claim topics registries (getters exist, return 0)
    ("IdentityRegistry", "function", "setClaimTopicsRegistry"): _CLAIMS,
    ("IdentityRegistry", "function", "setTrustedIssuersRegistry"): _CLAIMS,
    ("IdentityRegistry", "event", "ClaimTopicsRegistrySet"): _CLAIMS,
    ("IdentityRegistry", "event", "TrustedIssuersRegistrySet"): _CLAIMS,
    # IModularCompliance, implemented by the token
    ("SecurityToken", "function", "addModule"): _MODULES,
    ("SecurityToken", "function", "removeModule"): _MODULES,
    ("SecurityToken", "function", "callModuleFunction"): _MODULES,
    ("SecurityToken", "event", "ModuleAdded"): _MODULES,
    ("SecurityToken", "event", "ModuleRemoved"): _MODULES,
    ("SecurityToken", "event", "ModuleInteraction"): _MODULES,
    ("SecurityToken", "function", "bindToken"): _BINDING,
    ("SecurityToken", "function", "unbindToken"): _BINDING,
    ("SecurityToken", "event", "TokenUnbound"): _BINDING,
    ("SecurityToken", "function", "transferred"): _HOOKS,
    ("SecurityToken", "function", "created"): _HOOKS,
    ("SecurityToken", "function", "destroyed"): _HOOKS,
}

# Functions the standard declares `view` that we declare `pure` (they return constants).
# Solidity accepts pure for a view interface function and both are eth_call reads, so
# callers see no difference; T-REX's own Token declares version() pure for the same reason.
# Listed one by one so that any other mutability change still fails.
PURE_FOR_VIEW: dict[tuple[str, str], str] = {
    ("SecurityToken", "decimals"): "always 0: one unit is one fraction of the device",
    ("SecurityToken", "version"): "constant version string (T-REX's Token.version() is pure too)",
    ("SecurityToken", "getModules"): "always empty: no module contracts",
    ("SecurityToken", "isModuleBound"): "always false: no module contracts",
    ("IdentityRegistry", "issuersRegistry"): "always zero: no trusted issuers registry",
    ("IdentityRegistry", "topicsRegistry"): "always zero: no claim topics registry",
}

# (our contract, reference): every member of the reference must be in our contract or
# in NOT_IMPLEMENTED for that contract.
SURFACES = [
    ("SecurityToken", "IToken"),
    ("SecurityToken", "AgentRole"),
    ("SecurityToken", "IModularCompliance"),
    ("IdentityRegistry", "IIdentityRegistry"),
    ("IdentityRegistry", "AgentRole"),
]

IERC20 = {
    "function": {"totalSupply", "balanceOf", "transfer", "allowance", "approve", "transferFrom",
                 "name", "symbol", "decimals"},
    "event": {"Transfer", "Approval"},
}


def _type(p: dict) -> str:
    t = p["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_type(c) for c in p["components"]) + ")" + t[len("tuple"):]
    return t


def _members(abi: list[dict]) -> dict[tuple[str, str], dict]:
    """(kind, signature) -> normalised entry. Overloads are distinct signatures."""
    out = {}
    for e in abi:
        if e["type"] == "function":
            sig = f"{e['name']}({','.join(_type(i) for i in e['inputs'])})"
            out[("function", sig)] = {
                "name": e["name"],
                "outputs": tuple(_type(o) for o in e["outputs"]),
                "stateMutability": e["stateMutability"],
            }
        elif e["type"] == "event":
            sig = f"{e['name']}({','.join(_type(i) for i in e['inputs'])})"
            out[("event", sig)] = {
                "name": e["name"],
                "indexed": tuple(bool(i["indexed"]) for i in e["inputs"]),
                "anonymous": bool(e.get("anonymous", False)),
            }
    return out


def _load(path: pathlib.Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["abi"]


@pytest.fixture(scope="module")
def reference() -> dict[str, dict]:
    if not TREX_ARTIFACTS.is_dir():
        pytest.fail(f"T-REX {TREX_VERSION} reference missing: run `npm ci` (devDependency @tokenysolutions/t-rex)")
    version = json.loads((TREX / "package.json").read_text())["version"]
    assert version == TREX_VERSION, f"reference is T-REX {version}, this test pins {TREX_VERSION}"
    return {name: _members(_load(TREX_ARTIFACTS / rel)) for name, rel in REFERENCE.items()}


@pytest.fixture(scope="module")
def ours() -> dict[str, dict]:
    return {name: _members(_load(BUILD / f"{name}.json")) for name in ("SecurityToken", "IdentityRegistry")}


@pytest.mark.parametrize(("contract", "ref_name"), SURFACES, ids=[f"{c}-{r}" for c, r in SURFACES])
def test_standard_surface_is_exact(reference, ours, contract, ref_name):
    mine = ours[contract]
    mine_by_name: dict[tuple[str, str], list[str]] = {}
    for (kind, sig), entry in mine.items():
        mine_by_name.setdefault((kind, entry["name"]), []).append(sig)
    problems = []
    for (kind, sig), want in sorted(reference[ref_name].items()):
        name = want["name"]
        if (contract, kind, name) in NOT_IMPLEMENTED:
            if (kind, name) in mine_by_name:
                problems.append(f"{kind} {name} is allow-listed as absent but {contract} has "
                                f"{mine_by_name[(kind, name)]}: drop it from NOT_IMPLEMENTED")
            continue
        have = mine.get((kind, sig))
        if have is None:
            other = mine_by_name.get((kind, name))
            problems.append(f"missing {kind} {sig}" + (f" (we have {other})" if other else ""))
            continue
        if kind == "function":
            if have["outputs"] != want["outputs"]:
                problems.append(f"{sig}: returns {have['outputs']}, standard {want['outputs']}")
            mut, std = have["stateMutability"], want["stateMutability"]
            refined = (contract, name) in PURE_FOR_VIEW and (mut, std) == ("pure", "view")
            if mut != std and not refined:
                problems.append(f"{sig}: {mut}, standard {std}")
        else:
            if have["indexed"] != want["indexed"]:
                problems.append(f"event {sig}: indexed {have['indexed']}, standard {want['indexed']}")
            if have["anonymous"] != want["anonymous"]:
                problems.append(f"event {sig}: anonymous {have['anonymous']}, standard {want['anonymous']}")
    assert not problems, f"{contract} vs {ref_name} {TREX_VERSION}:\n  " + "\n  ".join(problems)


def test_compliance_subset_is_implemented_and_the_rest_allow_listed(reference):
    """Every IModularCompliance member is either in the built-in subset or allow-listed
    (never both), so a new member in the reference forces a decision."""
    for (kind, _sig), entry in reference["IModularCompliance"].items():
        name = entry["name"]
        listed = ("SecurityToken", kind, name) in NOT_IMPLEMENTED
        assert (name in COMPLIANCE_SUBSET[kind]) != listed, f"IModularCompliance {kind} {name}: decide"
    ref_names = {(k, e["name"]) for (k, _), e in reference["IModularCompliance"].items()}
    for kind, names in COMPLIANCE_SUBSET.items():
        for name in names:
            assert (kind, name) in ref_names, f"{kind} {name} is not in IModularCompliance"


def test_canTransfer_exact(ours):
    entry = ours["SecurityToken"][("function", "canTransfer(address,address,uint256)")]
    assert entry["outputs"] == ("bool",) and entry["stateMutability"] == "view"


def test_itoken_reference_includes_ierc20(reference):
    """IToken extends IERC20 (and IERC20Metadata's name/symbol/decimals): checking IToken
    checks the ERC-20 surface too."""
    names = {(k, e["name"]) for (k, _), e in reference["IToken"].items()}
    for kind, wanted in IERC20.items():
        for name in wanted:
            assert (kind, name) in names, f"IToken reference lacks ERC-20 {kind} {name}"


def test_allow_lists_are_well_formed(reference, ours):
    """Every allow-listed entry names a real member of a reference we check against the
    contract, with a reason; and PURE_FOR_VIEW only names functions we have as pure."""
    refs_of = {}
    for contract, ref_name in SURFACES:
        refs_of.setdefault(contract, set()).update(
            (k, e["name"]) for (k, _), e in reference[ref_name].items())
    for (contract, kind, name), reason in NOT_IMPLEMENTED.items():
        assert (kind, name) in refs_of[contract], f"{contract} {kind} {name} is in no reference"
        assert reason.strip(), f"{contract} {kind} {name}: give a reason"
    for (contract, name), reason in PURE_FOR_VIEW.items():
        funcs = [e for (k, _), e in ours[contract].items() if k == "function" and e["name"] == name]
        assert funcs and all(f["stateMutability"] == "pure" for f in funcs), f"{contract}.{name} is not pure"
        assert reason.strip()
