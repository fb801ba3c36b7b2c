// Price history per token on the market page (templates/tokens/market/_chart_prices.html): trade
// prices from tokens.market.charts via json_script, the offering price as a reference line; the
// table under each chart holds the same figures. Series names come translated (data-label-*).
(function () {
  if (typeof Chart === "undefined") return;
  document.querySelectorAll("canvas.price-chart").forEach(function (canvas) {
    var el = document.getElementById(canvas.dataset.series);
    if (!el) return;
    var d = JSON.parse(el.textContent);
    var datasets = [{ label: canvas.dataset.labelPrice, data: d.prices.map(Number), tension: 0, pointRadius: 3 }];
    if (d.reference.length) {
      datasets.push({ label: canvas.dataset.labelReference, data: d.reference.map(Number), borderDash: [6, 4], pointRadius: 0 });
    }
    new Chart(canvas, {
      type: "line",
      data: { labels: d.labels, datasets: datasets },
      options: { animation: false, aspectRatio: 3, scales: { y: { title: { display: true, text: d.currency } } } },
    });
  });
})();
