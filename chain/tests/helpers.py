from django.db import transaction

from chain import gateway
from chain.selectors import deployment_address
from chain.services import outbox_enqueue


def token_params(name="Test Device Token", symbol="TDT", supply_cap=1000, countries=(276, 250)):
    return {
        "name": name, "symbol": symbol,
        "owner": gateway.address_of("operator"), "agent": gateway.address_of("agent"),
        "identityRegistry": deployment_address("IdentityRegistry"),
        "stablecoin": deployment_address("MockStablecoin"),
        "supplyCap": supply_cap, "maxBalance": 500, "maxHolders": 100, "lockupUntil": 0,
        "allowedCountries": list(countries),
        "totalUnits": supply_cap, "termsHash": "0x" + "11" * 32,
    }


def enqueue_deploy(device_id_hex: str, *, key: str | None = None, kind="test.deploy"):
    with transaction.atomic():
        return outbox_enqueue(
            actor=None, idempotency_key=key or f"test-deploy:{device_id_hex}", kind=kind,
            contract_name="TokenFactory", function="deployToken",
            args=[device_id_hex, token_params()], to_address=deployment_address("TokenFactory"),
            sender="agent", reason="test")


def token_deployed_logs(device_id_hex: str) -> list[dict]:
    factory = deployment_address("TokenFactory")
    head = gateway.w3().eth.block_number
    logs = gateway.get_logs(address=factory, from_block=0, to_block=head, contract_name="TokenFactory")
    return [lg for lg in logs if lg["event"] == "TokenDeployed" and lg["args"]["deviceId"] == device_id_hex]
