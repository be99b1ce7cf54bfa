// Draws static Plotly figures: <div id="X-chart"> with its figure in <script id="X-figure">.
(function () {
  "use strict";
  document.querySelectorAll("script[type='application/json'][id$='-figure']").forEach(function (data) {
    var target = document.getElementById(data.id.replace(/-figure$/, "-chart"));
    if (!target || !window.Plotly) return;
    var figure = JSON.parse(data.textContent);
    Plotly.newPlot(target, figure.data, figure.layout, { responsive: true, displaylogo: false });
  });
})();
