"""Which chains and stablecoins are play money. One place for the settings (config), the chain
port and the payments port: core imports no app, so all of them may import this module, and
it imports nothing of Django, so settings modules can use it while they load."""

from __future__ import annotations

# Development chains (anvil/hardhat 31337, ganache/geth --dev 1337): the platform deploys a
# freely mintable MockStablecoin on them and their keys are public.
LOCAL_CHAIN_IDS = frozenset({31337, 1337})

# Public test networks: real nodes, but their coins (faucet ETH, test USDC) have no value, so
# a staging or demo deployment may pair them with Stripe's test mode and the simulator.
# An allow-list on purpose: a chain id not named here is treated as one where money is real.
TEST_CHAIN_IDS = frozenset({
    11155111,  # Ethereum Sepolia
    17000,  # Ethereum Holesky
    560048,  # Ethereum Hoodi
    80002,  # Polygon Amoy
    84532,  # Base Sepolia
    421614,  # Arbitrum Sepolia
    11155420,  # OP Sepolia
    43113,  # Avalanche Fuji
})

# Stablecoins with real value (issuers' mainnet contracts). Naming one of them as the
# platform's stablecoin means real money, whatever chain id the settings claim (a fork of a
# mainnet keeps its contracts; a mistyped CHAIN_ID does not make USDC play money).
REAL_STABLECOINS = frozenset(address.lower() for address in (
    "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",  # USDC, Ethereum
    "0xdAC17F958D2ee523a2206206994597C13D831ec7",  # USDT, Ethereum
    "0x6B175474E89094C44Da98b954EedeAC495271d0F",  # DAI, Ethereum
    "0x6c3ea9036406852006290770BEdFcAbA0e23A0e8",  # PYUSD, Ethereum
    "0x1aBaEA1f7C830bD89Acc67eC4af516284b1bC33c",  # EURC, Ethereum
    "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",  # USDC, Polygon PoS
    "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174",  # USDC.e, Polygon PoS
    "0xc2132D05D31c914a87C6611C10748AEb04B58e8F",  # USDT, Polygon PoS
    "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",  # USDC, Base
    "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",  # USDC, Arbitrum One
    "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85",  # USDC, OP Mainnet
    "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E",  # USDC, Avalanche C-Chain
))


def is_local_chain(chain_id) -> bool:
    return _as_int(chain_id) in LOCAL_CHAIN_IDS


def is_test_chain(chain_id) -> bool:
    """A local development chain or a public test network: no real value moves on it."""
    chain_id = _as_int(chain_id)
    return chain_id in LOCAL_CHAIN_IDS or chain_id in TEST_CHAIN_IDS


def is_real_stablecoin(address) -> bool:
    return bool(address) and str(address).strip().lower() in REAL_STABLECOINS


def _as_int(chain_id) -> int | None:
    try:
        return int(chain_id)
    except (TypeError, ValueError):
        return None
