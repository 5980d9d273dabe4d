/* goldset dashboard: draws the charts from the JSON the page embeds with json_script.
   Data never becomes HTML: Chart.js draws labels (usernames, category names) on a canvas. */
(function () {
  "use strict";
  var el = document.getElementById("dashboard-data");
  if (!el || typeof Chart === "undefined") { return; }
  var data = JSON.parse(el.textContent);

  var PALETTE = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2",
                 "#65a30d", "#dc2626", "#4f46e5", "#ca8a04", "#0d9488", "#9333ea"];
  var STATE_COLORS = ["#cbd5e1", "#f59e0b", "#16a34a"];
  var KIND_COLORS = { category: "#2563eb", none: "#94a3b8", unsure: "#f59e0b" };

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#475467";
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }

  draw("chart-states", {
    type: "doughnut",
    data: {
      labels: data.states.labels,
      datasets: [{ data: data.states.values, backgroundColor: STATE_COLORS, borderWidth: 1 }]
    },
    options: { cutout: "60%", plugins: { legend: { position: "right" } } }
  });

  draw("chart-labels", {
    type: "bar",
    data: {
      labels: data.labels.labels,
      datasets: [{
        label: "Annotations",
        data: data.labels.values,
        backgroundColor: data.labels.kinds.map(function (k) { return KIND_COLORS[k] || "#2563eb"; })
      }]
    },
    options: {
      indexAxis: "y",
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  });

  var days = data.daily.days.map(function (d) { return d.slice(5); }); // MM-DD
  draw("chart-daily", {
    type: "bar",
    data: {
      labels: days,
      datasets: data.daily.series.map(function (s, i) {
        return { label: s.label, data: s.values, backgroundColor: PALETTE[i % PALETTE.length] };
      })
    },
    options: {
      plugins: { legend: { position: "bottom" }, tooltip: { mode: "index", intersect: false } },
      scales: {
        x: { stacked: true, grid: { display: false } },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }
      }
    }
  });
})();
