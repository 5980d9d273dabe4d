/* goldset label-noise review: issues per suspected category and status, a stacked bar chart
   drawn from the JSON the page embeds with json_script. Category names are drawn on a canvas
   by Chart.js, never inserted as HTML. */
(function () {
  "use strict";
  var el = document.getElementById("noise-data");
  var canvas = document.getElementById("chart-noise");
  if (!el || !canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(el.textContent);

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#475467";
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: "Open", data: data.open, backgroundColor: "#f59e0b" },
        { label: "Confirmed and relabeled", data: data.confirmed, backgroundColor: "#16a34a" },
        { label: "Dismissed", data: data.dismissed, backgroundColor: "#94a3b8" }
      ]
    },
    options: {
      plugins: { legend: { position: "bottom" }, tooltip: { mode: "index", intersect: false } },
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } }
    }
  });
})();
