"""MockStablecoin: constructor decimals and EIP-2612 permit (the agent pays the gas to move
a custodial wallet's stablecoin with the wallet's signature)."""
from brownie import accounts, chain, web3
from eth_account import Account
from eth_account.messages import encode_typed_data

from conftest import reverts_with


def _permit_signature(coin, signer, spender, value, deadline, nonce=None):
    data = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                       {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                       {"name": "deadline", "type": "uint256"}],
        },
        "primaryType": "Permit",
        "domain": {"name": "Mock USD", "version": "1", "chainId": web3.eth.chain_id,
                   "verifyingContract": coin.address},
        "message": {"owner": signer.address, "spender": str(spender), "value": value,
                    "nonce": coin.nonces(signer) if nonce is None else nonce, "deadline": deadline},
    }
    signed = Account.sign_message(encode_typed_data(full_message=data), signer.private_key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def test_decimals_from_constructor(usd, usd18, outsider):
    assert usd.decimals() == 6 and usd18.decimals() == 18
    usd.mint(outsider, 5, {"from": outsider})
    assert usd.balanceOf(outsider) == 5


def test_permit_lets_agent_move_custodial_funds(usd, agent, outsider):
    wallet = accounts.add()  # custodial wallet: holds a key, never holds ETH
    usd.mint(wallet, 1_000_000, {"from": agent})
    deadline = chain.time() + 3_600
    v, r, s = _permit_signature(usd, wallet, agent, 400_000, deadline)
    tx = usd.permit(wallet, agent, 400_000, deadline, v, r, s, {"from": agent})  # agent pays gas
    assert tx.events["Approval"]["value"] == 400_000
    assert usd.allowance(wallet, agent) == 400_000 and usd.nonces(wallet) == 1
    usd.transferFrom(wallet, outsider, 400_000, {"from": agent})
    assert usd.balanceOf(outsider) == 400_000 and usd.balanceOf(wallet) == 600_000
    assert wallet.balance() == 0
    # replay: the nonce moved on, so the same signature recovers another signer
    with reverts_with("ERC2612InvalidSigner"):
        usd.permit(wallet, agent, 400_000, deadline, v, r, s, {"from": agent})


def test_permit_rejects_wrong_spender_and_expired(usd18, agent, outsider):
    wallet = accounts.add()
    deadline = chain.time() + 3_600
    v, r, s = _permit_signature(usd18, wallet, agent, 10**18, deadline)
    with reverts_with("ERC2612InvalidSigner"):  # signed for the agent, submitted for outsider
        usd18.permit(wallet, outsider, 10**18, deadline, v, r, s, {"from": agent})
    past = chain.time() - 10
    v, r, s = _permit_signature(usd18, wallet, agent, 10**18, past)
    with reverts_with("ERC2612ExpiredSignature"):
        usd18.permit(wallet, agent, 10**18, past, v, r, s, {"from": agent})
    assert usd18.allowance(wallet, agent) == 0 and usd18.nonces(wallet) == 0
