// Draws static Plotly figures: <div id="X-chart"> with its figure in <script id="X-figure">,
// on page load and whenever htmx swaps in a part of the page that holds new ones.
(function () {
  "use strict";
  function draw(root) {
    root.querySelectorAll("script[type='application/json'][id$='-figure']").forEach(function (data) {
      var target = document.getElementById(data.id.replace(/-figure$/, "-chart"));
      if (!target || !window.Plotly || target.dataset.drawn) return;
      var figure = JSON.parse(data.textContent);
      Plotly.newPlot(target, figure.data, figure.layout, { responsive: true, displaylogo: false });
      target.dataset.drawn = "true";
    });
  }
  draw(document);
  document.body.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  document.body.addEventListener("clab:swapped", function (event) { draw(event.detail); });
})();
