// Depreciation curve on the device page; data comes from assets.valuation via json_script.
(function () {
  var el = document.getElementById("depreciation-data");
  var canvas = document.getElementById("depreciation-chart");
  if (!el || !canvas || typeof Chart === "undefined") return;
  var d = JSON.parse(el.textContent);
  // Django's JavaScript catalogue (/jsi18n/) translates when the page loaded it; otherwise English.
  var gettext = window.gettext || function (s) { return s; };
  new Chart(canvas, {
    type: "line",
    data: {
      labels: d.labels,
      datasets: [{ label: gettext("Value (%(currency)s)").replace("%(currency)s", d.currency), data: d.values.map(Number), tension: 0.2, fill: false }],
    },
    options: {
      animation: false,
      scales: { x: { title: { display: true, text: gettext("Age (years)") } },
                y: { title: { display: true, text: d.currency }, beginAtZero: true } },
    },
  });
})();
