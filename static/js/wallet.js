// "Claim with your wallet" for self-custody holdings (EIP-1193, no library, no build step).
// The server prepares the call (claimIncome() on the token: from/to/data), the browser wallet
// signs and sends it, the server is told the hash and reads the receipt itself: the page
// never reports an amount, it shows what the chain says.
(function () {
  "use strict";
  var script = document.currentScript;
  var API = (script && script.dataset.api) || "/api/v1/tokens/income/claims/";
  var POLL_MS = 1500;
  var POLL_LIMIT = 200; // about five minutes

  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) {
          var err = (data && data.error) || {};
          throw new Error(err.message || ("The server answered " + resp.status + "."));
        }
        return data;
      });
    });
  }

  function say(out, text, kind) {
    out.textContent = text;
    out.dataset.state = kind || "";
  }

  function walletError(e) {
    if (e && e.code === 4001) return "You rejected the request in your wallet; nothing was sent.";
    return (e && e.message) || String(e);
  }

  function follow(id, out, button, hash) {
    var n = 0;
    function tick() {
      api("GET", API + id + "/").then(function (claim) {
        if (claim.status === "confirmed") {
          say(out, "Claim confirmed in block " + claim.block_number + ": " + claim.amount_base_units +
              " base units paid to your wallet. Transaction " + hash + ".", "confirmed");
          button.textContent = "Claimed";
        } else if (claim.status === "failed") {
          say(out, "The claim failed: " + (claim.error || "the transaction reverted") + ".", "failed");
          button.disabled = false;
        } else if (++n >= POLL_LIMIT) {
          say(out, "Still waiting for transaction " + hash + " to be mined; this page will show it once it is.",
              "pending");
        } else {
          say(out, "Transaction " + hash + " sent; waiting for it to be mined…", "pending");
          setTimeout(tick, POLL_MS);
        }
      }).catch(function (e) {
        if (++n >= POLL_LIMIT) { say(out, e.message, "failed"); return; }
        setTimeout(tick, POLL_MS);
      });
    }
    tick();
  }

  function claim(button) {
    var out = button.parentElement.querySelector(".wallet-claim-result") || button.nextElementSibling;
    var eth = window.ethereum;
    if (!eth || typeof eth.request !== "function") {
      say(out, "No browser wallet found. Install or unlock one (e.g. MetaMask) and reload the page.", "failed");
      return;
    }
    var holding = { offering_id: Number(button.dataset.offering), wallet: button.dataset.wallet };
    var tx;
    button.disabled = true;
    say(out, "Preparing the claim…", "pending");
    api("POST", API + "prepare/", holding).then(function (prepared) {
      tx = prepared;
      return eth.request({ method: "eth_requestAccounts" });
    }).then(function (accounts) {
      var from = (accounts || []).map(function (a) { return String(a).toLowerCase(); });
      if (from.indexOf(tx.from.toLowerCase()) < 0) {
        throw new Error("Select wallet " + tx.from + " in your browser wallet: this holding belongs to it.");
      }
      return eth.request({ method: "eth_chainId" }).then(function (chainId) {
        if (chainId && tx.chainId && parseInt(chainId, 16) !== parseInt(tx.chainId, 16)) {
          throw new Error("Your wallet is on chain " + parseInt(chainId, 16) + "; switch it to chain " +
                          parseInt(tx.chainId, 16) + ".");
        }
        say(out, "Confirm the transaction in your wallet…", "pending");
        return eth.request({ method: "eth_sendTransaction", params: [{ from: tx.from, to: tx.to, data: tx.data }] });
      });
    }).then(function (hash) {
      say(out, "Transaction " + hash + " sent; waiting for it to be mined…", "pending");
      return api("POST", API + "track/", { offering_id: holding.offering_id, wallet: holding.wallet, tx_hash: hash })
        .then(function (tracked) { follow(tracked.id, out, button, hash); });
    }).catch(function (e) {
      say(out, walletError(e), "failed");
      button.disabled = false;
    });
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button.wallet-claim");
    if (button) { ev.preventDefault(); claim(button); }
  });
})();
