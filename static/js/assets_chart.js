// Depreciation curve on the device page; data comes from assets.valuation via json_script.
(function () {
  var el = document.getElementById("depreciation-data");
  var canvas = document.getElementById("depreciation-chart");
  if (!el || !canvas || typeof Chart === "undefined") return;
  var d = JSON.parse(el.textContent);
  new Chart(canvas, {
    type: "line",
    data: {
      labels: d.labels,
      datasets: [{ label: "Value (" + d.currency + ")", data: d.values.map(Number), tension: 0.2, fill: false }],
    },
    options: {
      animation: false,
      scales: { x: { title: { display: true, text: "Age (years)" } },
                y: { title: { display: true, text: d.currency }, beginAtZero: true } },
    },
  });
})();
