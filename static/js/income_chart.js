// Income per month on the Income page; the figures come from tokens.income via json_script
// and are repeated in the table next to the chart.
(function () {
  var el = document.getElementById("income-data");
  var canvas = document.getElementById("income-chart");
  if (!el || !canvas || typeof Chart === "undefined") return;
  var d = JSON.parse(el.textContent);
  // Django's JavaScript catalogue (/jsi18n/) translates when the page loaded it; otherwise English.
  var gettext = window.gettext || function (s) { return s; };
  var label = gettext("Income (%(currency)s)").replace("%(currency)s", d.currency);
  new Chart(canvas, {
    type: "bar",
    data: { labels: d.labels, datasets: [{ label: label, data: d.values.map(Number) }] },
    options: { animation: false, aspectRatio: 3, scales: { y: { title: { display: true, text: d.currency }, beginAtZero: true } } },
  });
})();
