/* goldset active learning: draws the per-category metrics and the learning curve from the JSON
   the page embeds with json_script. Category names are drawn on a canvas by Chart.js, never
   inserted as HTML. */
(function () {
  "use strict";
  var el = document.getElementById("learning-data");
  if (!el || typeof Chart === "undefined") { return; }
  var data = JSON.parse(el.textContent);

  var PALETTE = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2",
                 "#65a30d", "#dc2626", "#4f46e5", "#ca8a04", "#0d9488", "#9333ea"];

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#475467";
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }

  var m = data.metrics;
  draw("chart-metrics", {
    type: "bar",
    data: {
      labels: m.labels,
      datasets: [
        { label: "Precision", data: m.precision, backgroundColor: "#94a3b8" },
        { label: "Recall", data: m.recall, backgroundColor: "#d97706" },
        { label: "F1", data: m.f1, backgroundColor: "#2563eb" }
      ]
    },
    options: {
      plugins: { legend: { position: "bottom" }, tooltip: { mode: "index", intersect: false } },
      scales: { y: { beginAtZero: true, max: 1 } }
    }
  });

  var c = data.curve;
  function points(values) {
    return values.map(function (v, i) { return { x: c.gold[i], y: v }; });
  }
  var series = [
    { label: "Macro-F1", data: points(c.macro_f1), borderColor: "#111827",
      backgroundColor: "#111827", borderWidth: 3, spanGaps: true }
  ];
  c.categories.forEach(function (cat, i) {
    series.push({ label: cat.name, data: points(cat.f1), borderColor: PALETTE[i % PALETTE.length],
                  backgroundColor: PALETTE[i % PALETTE.length], borderWidth: 1.5,
                  borderDash: [4, 3], spanGaps: true });
  });
  draw("chart-curve", {
    type: "line",
    data: { datasets: series },
    options: {
      parsing: false,
      plugins: { legend: { position: "bottom" } },
      scales: {
        x: { type: "linear", title: { display: true, text: "Gold labels" }, ticks: { precision: 0 } },
        y: { beginAtZero: true, max: 1, title: { display: true, text: "F1" } }
      }
    }
  });
})();
