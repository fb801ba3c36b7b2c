"""Deploys the shared contracts once per chain (idempotent), through the outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from chain import gateway, processor
from chain.models import ChainTransaction, Deployment
from chain.services import outbox_enqueue
from core.chains import LOCAL_CHAIN_IDS
from core.errors import ApplicationError

# name -> (artifact, constructor args builder)
SHARED = ["IdentityRegistry", "SecurityToken", "TokenFactory", "AssetRegistry", "MockStablecoin"]
AGENT_ON = ["IdentityRegistry", "TokenFactory", "AssetRegistry"]
# Secondary-market DvP board (after the stablecoin it settles in); the agent cancels offers.
SHARED.append("Settlement")
AGENT_ON.append("Settlement")


def _genesis_tag() -> str:
    # A reset dev chain keeps its chain id but not its genesis hash: new keys, new deployments.
    return "0x" + bytes(gateway.w3().eth.get_block(0)["hash"]).hex()[:16]


def _constructor_args(name: str, addresses: dict[str, str]) -> list:
    operator = gateway.address_of("operator")
    if name in ("IdentityRegistry", "AssetRegistry"):
        return [operator]
    if name == "TokenFactory":
        return [operator, addresses["SecurityToken"]]
    if name == "MockStablecoin":
        return [6]  # decimals, like USDC
    if name == "Settlement":
        stablecoin = getattr(settings, "CHAIN_STABLECOIN_ADDRESS", "") or addresses["MockStablecoin"]
        # Fee in basis points (0 allowed) to the fee wallet; the owner (operator) can change both.
        fee_bps = int(getattr(settings, "MARKET_FEE_BPS", 50))
        # Only the factory's tokens can be offered on the board.
        return [operator, stablecoin, getattr(settings, "MARKET_FEE_WALLET", "") or operator, fee_bps,
                addresses["TokenFactory"]]
    return []


def _run(rows: list[ChainTransaction]) -> list[ChainTransaction]:
    done = processor.drain(ids=[r.pk for r in rows], timeout=60)
    failed = [r for r in done if r.status != ChainTransaction.Status.CONFIRMED]
    if failed:
        raise ApplicationError("chain_bootstrap_failed",
                               "; ".join(f"{r.kind} {r.contract_name}.{r.function}: {r.status} {r.error}"
                                         for r in failed), status=503)
    return done


def bootstrap(*, stdout=None) -> dict[str, str]:
    """Make sure every shared contract has code on this chain and the agent key holds the
    agent role on the registries and the factory. Returns {name: address}."""
    def say(msg):
        if stdout is not None:
            stdout.write(msg)

    chain = gateway.chain_id()
    if chain != settings.CHAIN_ID:
        raise ApplicationError("chain_id_mismatch",
                               f"The node at CHAIN_RPC_URL reports chain {chain}, settings say {settings.CHAIN_ID}.")
    tag = _genesis_tag()
    addresses: dict[str, str] = {}
    for name in SHARED:
        if name == "MockStablecoin" and chain not in LOCAL_CHAIN_IDS:
            continue
        dep = Deployment.objects.filter(chain_id=chain, name=name).first()
        if dep is not None and gateway.has_code(dep.address):
            addresses[name] = dep.address
            say(f"{name}: {dep.address} (already deployed)\n")
            continue
        with transaction.atomic():
            row = outbox_enqueue(
                actor=None, idempotency_key=f"bootstrap:{chain}:{tag}:{name}", kind="chain.bootstrap",
                contract_name=name, function="constructor", args=_constructor_args(name, addresses),
                sender="operator", reason="shared contract deployment")
        (row,) = _run([row])
        Deployment.objects.update_or_create(
            chain_id=chain, name=name,
            defaults={"address": row.contract_address, "tx_hash": row.tx_hash, "block_number": row.block_number})
        addresses[name] = row.contract_address
        say(f"{name}: {row.contract_address} (deployed in {row.tx_hash})\n")

    agent = gateway.address_of("agent")
    for name in AGENT_ON:
        if gateway.call(name, addresses[name], "isAgent", agent):
            continue
        with transaction.atomic():
            row = outbox_enqueue(
                actor=None, idempotency_key=f"bootstrap:{chain}:{tag}:{name}:{addresses[name]}:addAgent:{agent}",
                kind="chain.bootstrap", contract_name=name, function="addAgent", args=[agent],
                to_address=addresses[name], sender="operator", reason="grant the platform agent role")
        _run([row])
        say(f"{name}: agent role granted to {agent}\n")
    return addresses
