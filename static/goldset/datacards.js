/* Version page: the data card's charts (drawn from json_script data; labels are drawn on a
   canvas, never inserted as HTML) and confirmations for publish and delete. */
(function () {
  "use strict";
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  var el = document.getElementById("card-data");
  if (!el || typeof Chart === "undefined") { return; }
  var data = JSON.parse(el.textContent);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#475467";
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  function interval(low, high) {
    return low.map(function (l, i) { return (l === null || high[i] === null) ? null : [l, high[i]]; });
  }
  function pointsWithCi(label, color, values, low, high) {
    return [
      { type: "line", label: label, data: values, showLine: false, pointRadius: 5,
        borderColor: color, backgroundColor: color, order: 0 },
      { type: "bar", label: label + " 95% CI", data: interval(low, high), backgroundColor: color + "55",
        borderColor: color, borderWidth: 1, barPercentage: 0.3, order: 1 }
    ];
  }
  function tooltip(digits) {
    return { callbacks: { label: function (ctx) {
      var v = ctx.raw;
      if (Array.isArray(v)) { return ctx.dataset.label + ": " + v[0].toFixed(digits) + " – " + v[1].toFixed(digits); }
      return ctx.dataset.label + ": " + (v === null ? "–" : v.toFixed(digits));
    } } };
  }
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }

  var p = data.prevalence;
  var sets = pointsWithCi("Prevalence", "#2563eb", p.value, p.low, p.high);
  if (p.has_weighted) {
    sets = sets.concat(pointsWithCi("Weighted (Hájek)", "#d97706", p.weighted, p.weighted_low, p.weighted_high));
  }
  draw("chart-prevalence", {
    type: "bar", data: { labels: p.labels, datasets: sets },
    options: { plugins: { legend: { position: "bottom" }, tooltip: tooltip(4) },
               scales: { x: { grid: { display: false } }, y: { min: 0, max: 1, title: { display: true, text: "share of items" } } } }
  });

  var a = data.agreement;
  var agreementSets = pointsWithCi("Krippendorff's α (snapshot)", "#2563eb", a.alpha, a.alpha_low, a.alpha_high);
  agreementSets.push({ type: "line", label: "Positive agreement (this version)", data: a.positive, showLine: false,
                       pointRadius: 5, pointStyle: "rectRot", borderColor: "#059669", backgroundColor: "#059669", order: 0 });
  draw("chart-card-agreement", {
    type: "bar", data: { labels: a.labels, datasets: agreementSets },
    options: { plugins: { legend: { position: "bottom" }, tooltip: tooltip(3) },
               scales: { x: { grid: { display: false } }, y: { min: -0.2, max: 1 } } }
  });

  var PALETTE = ["#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#dc2626", "#4f46e5"];
  draw("chart-sampling", {
    type: "doughnut",
    data: { labels: data.sampling.labels, datasets: [{ data: data.sampling.values, backgroundColor: PALETTE, borderWidth: 1 }] },
    options: { cutout: "55%", plugins: { legend: { position: "right" } } }
  });
})();
