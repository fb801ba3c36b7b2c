// Market actions signed by a self-custody wallet (EIP-1193, no library, no build step): the
// server prepares the calls (approve, then post / take / cancel / transfer: from, to, data),
// the browser wallet sends them in order (each waits for its receipt), the server is told the
// hash of the last one and reads the receipt itself; the page shows what the chain says.
(function () {
  "use strict";
  var API = "/api/v1/tokens/market/";
  var POLL_MS = 1500;
  var POLL_LIMIT = 200; // about five minutes
  var M = window.MedRWA;
  var gettext = M.gettext, fmt = M.fmt, api = M.api, say = M.say, walletError = M.walletError;

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function waitMined(eth, hash) {
    var n = 0;
    function tick() {
      return eth.request({ method: "eth_getTransactionReceipt", params: [hash] }).then(function (rc) {
        if (rc) {
          if (parseInt(rc.status, 16) !== 1) {
            throw new Error(fmt(gettext("Transaction %(hash)s reverted; nothing moved."), { hash: hash }));
          }
          return rc;
        }
        if (++n >= POLL_LIMIT) {
          throw new Error(fmt(gettext("Transaction %(hash)s is not mined yet; reload later."), { hash: hash }));
        }
        return sleep(POLL_MS).then(tick);
      });
    }
    return tick();
  }

  // action -> {prepare url, body, track url, follow url(id), done(obj) -> text | null}
  function plan(b) {
    var d = b.dataset;
    if (d.action === "transfer" || d.action === "post") {
      var body = d.action === "transfer"
        ? { offering_id: Number(d.offering), wallet: d.wallet, to: d.to, units: Number(d.units) }
        : { offering_id: Number(d.offering), wallet: d.wallet, units: Number(d.units), price_per_unit: d.price,
            expires_at: d.expires };
      var base = API + (d.action === "transfer" ? "transfers/" : "offers/");
      return { prepare: base + "prepare/", body: body, track: base + "track/", follow: function (id) { return base + id + "/"; },
               done: d.action === "transfer" ? transferDone : function (o) {
                 return o.status === "open" ? fmt(gettext("Offer posted on the board (offer %(id)s)."),
                                                  { id: o.board_offer_id }) :
                   (o.status === "failed" ? "failed: " + (o.error || gettext("the transaction reverted")) : null);
               } };
    }
    if (d.action === "take") {
      var offer = API + "offers/" + d.offer + "/take/";
      return { prepare: offer + "prepare/", body: { wallet: d.wallet, units: Number(d.units) }, track: offer + "track/",
               follow: function (id) { return API + "transfers/" + id + "/"; }, done: transferDone };
    }
    var cancel = API + "offers/" + d.offer + "/cancel/";
    return { prepare: cancel + "prepare/", body: {}, track: cancel + "track/",
             follow: function () { return API + "offers/" + d.offer + "/"; },
             done: function (o) { return o.status === "cancelled" ? gettext("Offer cancelled.") :
               (o.status === "open" && o.error ? "failed: " + o.error : null); } };
  }

  function transferDone(t) {
    if (t.status === "confirmed") {
      var where = { block: t.block_number, units: t.units, wallet: t.to_wallet,
                    paid: t.paid_base_units && M.money(t.paid_base_units),
                    fee: t.fee_base_units && M.money(t.fee_base_units) };
      return t.paid_base_units
        ? fmt(gettext("Confirmed in block %(block)s: %(units)s units to %(wallet)s, paid %(paid)s " +
                      "(fee %(fee)s)."), where)
        : fmt(gettext("Confirmed in block %(block)s: %(units)s units to %(wallet)s."), where);
    }
    return t.status === "failed" ? "failed: " + (t.error || gettext("the transaction reverted")) : null;
  }

  function follow(p, id, out, button) {
    var n = 0;
    function tick() {
      api("GET", p.follow(id)).then(function (obj) {
        var text = p.done(obj);
        if (text) {
          var failed = text.indexOf("failed: ") === 0;
          say(out, failed ? fmt(gettext("The transaction failed: %(reason)s"), { reason: text.slice(8) }) : text,
              failed ? "failed" : "confirmed");
          if (failed) button.disabled = false;
        } else if (++n >= POLL_LIMIT) {
          say(out, gettext("Still waiting for the chain; this page will show it once it is final."), "pending");
        } else { setTimeout(tick, POLL_MS); }
      }).catch(function (e) {
        if (++n >= POLL_LIMIT) { say(out, e.message, "failed"); return; }
        setTimeout(tick, POLL_MS);
      });
    }
    tick();
  }

  function run(button) {
    var out = button.parentElement.querySelector(".market-result") || button.nextElementSibling;
    var eth = window.ethereum;
    if (!eth || typeof eth.request !== "function") {
      say(out, gettext("No browser wallet found. Install or unlock one (e.g. MetaMask) and reload the page."),
          "failed");
      return;
    }
    var p = plan(button);
    var prepared;
    button.disabled = true;
    say(out, gettext("Preparing…"), "pending");
    api("POST", p.prepare, p.body).then(function (tx) {
      prepared = tx;
      return eth.request({ method: "eth_requestAccounts" });
    }).then(function (accounts) {
      var from = (accounts || []).map(function (a) { return String(a).toLowerCase(); });
      if (from.indexOf(prepared.from.toLowerCase()) < 0) {
        throw new Error(fmt(gettext("Select wallet %(wallet)s in your browser wallet: it holds these units."),
                            { wallet: prepared.from }));
      }
      return eth.request({ method: "eth_chainId" });
    }).then(function (chainId) {
      if (chainId && prepared.chainId && parseInt(chainId, 16) !== parseInt(prepared.chainId, 16)) {
        throw new Error(fmt(gettext("Your wallet is on chain %(current)s; switch it to chain %(wanted)s."),
                            { current: parseInt(chainId, 16), wanted: parseInt(prepared.chainId, 16) }));
      }
      var last = null;
      return prepared.steps.reduce(function (chain, step, i) {
        return chain.then(function () {
          say(out, fmt(gettext("Confirm step %(step)s of %(steps)s (%(label)s) in your wallet…"),
                       { step: i + 1, steps: prepared.steps.length, label: step.label }), "pending");
          return eth.request({ method: "eth_sendTransaction", params: [{ from: prepared.from, to: step.to, data: step.data }] });
        }).then(function (hash) {
          last = hash;
          say(out, fmt(gettext("Transaction %(hash)s sent; waiting for it to be mined…"), { hash: hash }), "pending");
          return waitMined(eth, hash);
        });
      }, Promise.resolve()).then(function () { return last; });
    }).then(function (hash) {
      return api("POST", p.track, Object.assign({}, p.body, { tx_hash: hash })).then(function (tracked) {
        follow(p, tracked.id, out, button);
      });
    }).catch(function (e) {
      say(out, walletError(e), "failed");
      button.disabled = false;
    });
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button.market-sign");
    if (button) { ev.preventDefault(); run(button); }
  });
})();
