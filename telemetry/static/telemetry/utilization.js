// Draws the device utilization charts from the json_script block on the page.
(function () {
  "use strict";
  const el = document.getElementById("utilization-data");
  if (!el || typeof Chart === "undefined") return;
  const d = JSON.parse(el.textContent);
  new Chart(document.getElementById("chart-procedures"), {
    type: "bar",
    data: { labels: d.labels, datasets: [{ label: "Procedures", data: d.procedures }] },
    options: { animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  new Chart(document.getElementById("chart-gpu"), {
    type: "line",
    data: {
      labels: d.labels,
      datasets: [
        { label: "GPU hours", data: d.gpu_hours, yAxisID: "y" },
        { label: "Uptime %", data: d.uptime_pct, yAxisID: "y1" },
      ],
    },
    options: {
      animation: false,
      scales: {
        y: { beginAtZero: true, position: "left" },
        y1: { beginAtZero: true, max: 100, position: "right", grid: { drawOnChartArea: false } },
      },
    },
  });
})();
