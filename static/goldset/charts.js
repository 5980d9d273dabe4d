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

/* Agreement per category: Krippendorff's alpha and Gwet's AC1 as points with their 95% CI as
   floating bars (whiskers). A category without a value leaves a gap; the table under the chart
   says "not enough data" and why. */
(function () {
  "use strict";
  var el = document.getElementById("agreement-data");
  var canvas = document.getElementById("chart-agreement");
  if (!el || !canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(el.textContent);
  var SERIES = [
    { key: "alpha", label: "Krippendorff's α", color: "#2563eb" },
    { key: "ac1", label: "Gwet's AC1", color: "#d97706" }
  ];
  function interval(s) {
    return s.low.map(function (low, i) {
      return (low === null || s.high[i] === null) ? null : [low, s.high[i]];
    });
  }
  var datasets = [];
  SERIES.forEach(function (s) {
    var series = data[s.key];
    datasets.push({
      type: "line", label: s.label, data: series.value, showLine: false, pointRadius: 4,
      pointHoverRadius: 6, borderColor: s.color, backgroundColor: s.color, order: 0
    });
    datasets.push({
      type: "bar", label: s.label + " 95% CI", data: interval(series), backgroundColor: s.color + "55",
      borderColor: s.color, borderWidth: 1, barPercentage: 0.15, grouped: false, order: 1
    });
  });
  var lows = [];
  SERIES.forEach(function (s) { data[s.key].low.forEach(function (v) { if (v !== null) { lows.push(v); } }); });
  var min = Math.min.apply(null, [0].concat(lows));
  new Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets: datasets },
    options: {
      plugins: {
        legend: { position: "bottom" },
        tooltip: {
          callbacks: {
            label: function (ctx) {
              var v = ctx.raw;
              if (Array.isArray(v)) { return ctx.dataset.label + ": " + v[0].toFixed(2) + " – " + v[1].toFixed(2); }
              return ctx.dataset.label + ": " + (v === null ? "not enough data" : v.toFixed(2));
            }
          }
        }
      },
      scales: {
        x: { grid: { display: false } },
        y: { min: Math.max(-1, Math.floor(min * 10) / 10), max: 1, title: { display: true, text: "agreement (1 = perfect, 0 = chance)" } }
      }
    }
  });
})();
