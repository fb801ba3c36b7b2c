"""The `chain` process of the Procfile: a local anvil whose state survives restarts (even
kill -9: --state-interval 1 writes it every second), then the shared contracts deployed
once (`chain_bootstrap` is idempotent), then `seed_demo` again: `make run` seeds before this
process is up, so the seeders that need the chain (the demo investor's KYC registration in
the IdentityRegistry, the demo offering) skipped; every seeder is idempotent."""

import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def rpc_up(url: str) -> bool:
    req = urllib.request.Request(  # noqa: S310 - fixed http://127.0.0.1 URL
        url, data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=1) as resp:  # noqa: S310 - fixed http://127.0.0.1 URL
            return resp.status == 200
    except OSError:
        return False


def main() -> int:
    state = pathlib.Path(os.environ.get("CHAIN_STATE_FILE", ROOT / "var" / "chain" / "state.json"))
    state.parent.mkdir(parents=True, exist_ok=True)
    port = os.environ.get("ANVIL_PORT", "8545")
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([
        str(ANVIL), "--host", "127.0.0.1", "--port", port, "--chain-id", os.environ.get("CHAIN_ID", "31337"),
        "--state", str(state), "--state-interval", "1", "--silent",
    ])
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    for _ in range(100):
        if rpc_up(url):
            break
        time.sleep(0.1)
    setup(url)
    return proc.wait()


def manage(command: str, url: str) -> int:
    env = {**os.environ, "CHAIN_RPC_URL": url}
    return subprocess.run([sys.executable, "manage.py", command], cwd=ROOT, check=False, env=env).returncode


def setup(url: str, run=manage) -> bool:
    """Deploy the shared contracts, then seed what needed the chain. Never fatal: the node
    keeps running for the platform even if this fails (both steps run again next start).
    `run(command, url) -> exit status` runs a management command (tests pass an in-process one)."""
    if run("chain_bootstrap", url) != 0:
        print("chain: chain_bootstrap failed; demo data that needs the chain was not seeded", file=sys.stderr)
        return False
    return run("seed_demo", url) == 0


if __name__ == "__main__":
    sys.exit(main())
