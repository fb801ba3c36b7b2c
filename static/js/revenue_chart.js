// Revenue per month per device (templates/tokens/_chart_revenue.html): the figures come from
// tokens.distributions.charts via json_script and are repeated in the table under each chart;
// the series' names come translated on the canvas (data-label-*).
(function () {
  if (typeof Chart === "undefined") return;
  document.querySelectorAll("canvas.revenue-chart").forEach(function (canvas) {
    var el = document.getElementById(canvas.dataset.series);
    if (!el) return;
    var d = JSON.parse(el.textContent);
    var bar = function (key) {
      return { type: "bar", label: canvas.dataset["label" + key[0].toUpperCase() + key.slice(1)], data: d[key].map(Number) };
    };
    var gross = bar("gross");
    gross.type = "line";
    gross.tension = 0.2;
    new Chart(canvas, {
      data: { labels: d.labels, datasets: [gross, bar("holders"), bar("investors"), bar("clinic")] },
      options: { animation: false, aspectRatio: 3, scales: { y: { title: { display: true, text: d.currency }, beginAtZero: true } } },
    });
  });
})();
