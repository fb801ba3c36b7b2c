// Helpers shared by the pages that talk to the API and a browser wallet (EIP-1193): the
// translation catalogue, the API call with CSRF and the page's language, status text.
(function () {
  "use strict";
  // Django's JavaScript catalogue (/jsi18n/, loaded before this file) translates; without it, English.
  var gettext = window.gettext || function (s) { return s; };
  function fmt(s, o) { return s.replace(/%\((\w+)\)s/g, function (m, k) { return String(o[k]); }); }

  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      // The API answers errors in the page's language, not the browser's default.
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken(),
                 "Accept-Language": document.documentElement.lang || "en" },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) {
          var err = (data && data.error) || {};
          throw new Error(err.message || fmt(gettext("The server answered %(status)s."), { status: resp.status }));
        }
        return data;
      });
    });
  }

  function say(out, text, kind) { out.textContent = text; out.dataset.state = kind || ""; }

  // Stablecoin base units (an integer string) as money in the page's language, rounded half up
  // to the cent: BigInt all the way, never a float.
  function money(baseUnits, decimals, currency) {
    var d = BigInt(decimals === undefined ? 6 : decimals);
    var units = BigInt(baseUnits), cents;
    if (d > 2n) {
      var step = 10n ** (d - 2n);
      cents = (units + step / 2n) / step;
    } else {
      cents = units * 10n ** (2n - d);
    }
    var lang = document.documentElement.lang || "en";
    var whole = new Intl.NumberFormat(lang).format(cents / 100n);
    var sep = new Intl.NumberFormat(lang).formatToParts(1.5).find(function (p) { return p.type === "decimal"; });
    var frac = String(cents % 100n).padStart(2, "0");
    return whole + (sep ? sep.value : ".") + frac + " " + (currency || "USD");
  }

  function walletError(e) {
    if (e && e.code === 4001) return gettext("You rejected the request in your wallet; nothing was sent.");
    return (e && e.message) || String(e);
  }

  window.MedRWA = { gettext: gettext, fmt: fmt, csrfToken: csrfToken, api: api, say: say,
                    walletError: walletError, money: money };
})();
