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
  var M = window.MedRWA;
  var gettext = M.gettext, fmt = M.fmt, api = M.api, say = M.say, walletError = M.walletError;

  function follow(id, out, button, hash) {
    var n = 0;
    function tick() {
      api("GET", API + id + "/").then(function (claim) {
        if (claim.status === "confirmed") {
          say(out, fmt(gettext("Claim confirmed in block %(block)s: %(amount)s paid to your wallet. " +
                               "Transaction %(hash)s."),
                       { block: claim.block_number, amount: M.money(claim.amount_base_units), hash: hash }),
              "confirmed");
          button.textContent = gettext("Claimed");
        } else if (claim.status === "failed") {
          say(out, fmt(gettext("The claim failed: %(reason)s."),
                       { reason: claim.error || gettext("the transaction reverted") }), "failed");
          button.disabled = false;
        } else if (++n >= POLL_LIMIT) {
          say(out, fmt(gettext("Still waiting for transaction %(hash)s to be mined; this page will show it once " +
                               "it is."), { hash: hash }), "pending");
        } else {
          say(out, fmt(gettext("Transaction %(hash)s sent; waiting for it to be mined…"), { hash: hash }), "pending");
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
      say(out, gettext("No browser wallet found. Install or unlock one (e.g. MetaMask) and reload the page."),
          "failed");
      return;
    }
    var holding = { offering_id: Number(button.dataset.offering), wallet: button.dataset.wallet };
    var tx;
    button.disabled = true;
    say(out, gettext("Preparing the claim…"), "pending");
    api("POST", API + "prepare/", holding).then(function (prepared) {
      tx = prepared;
      return eth.request({ method: "eth_requestAccounts" });
    }).then(function (accounts) {
      var from = (accounts || []).map(function (a) { return String(a).toLowerCase(); });
      if (from.indexOf(tx.from.toLowerCase()) < 0) {
        throw new Error(fmt(gettext("Select wallet %(wallet)s in your browser wallet: this holding belongs to it."),
                            { wallet: tx.from }));
      }
      return eth.request({ method: "eth_chainId" }).then(function (chainId) {
        if (chainId && tx.chainId && parseInt(chainId, 16) !== parseInt(tx.chainId, 16)) {
          throw new Error(fmt(gettext("Your wallet is on chain %(current)s; switch it to chain %(wanted)s."),
                              { current: parseInt(chainId, 16), wanted: parseInt(tx.chainId, 16) }));
        }
        say(out, gettext("Confirm the transaction in your wallet…"), "pending");
        return eth.request({ method: "eth_sendTransaction", params: [{ from: tx.from, to: tx.to, data: tx.data }] });
      });
    }).then(function (hash) {
      say(out, fmt(gettext("Transaction %(hash)s sent; waiting for it to be mined…"), { hash: hash }), "pending");
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
