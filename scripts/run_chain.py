"""The `chain` process of the Procfile: a local anvil whose state survives restarts (even
kill -9: --state-interval 1 writes it every second), then the shared contracts deployed
once (`chain_bootstrap` is idempotent)."""

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
    subprocess.run([sys.executable, "manage.py", "chain_bootstrap"], cwd=ROOT, check=False,
                   env={**os.environ, "CHAIN_RPC_URL": url})
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
