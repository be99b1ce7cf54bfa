// Draws static Plotly figures: <div id="X-chart"> with its figure in <script id="X-figure">,
// on page load and whenever htmx swaps in a part of the page that holds new ones.
// Plotly may load async (script[data-plotly]); drawing waits for it.
(function () {
  "use strict";
  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("script[type='application/json'][id$='-figure']").forEach(function (data) {
      var target = document.getElementById(data.id.replace(/-figure$/, "-chart"));
      if (!target || target.dataset.drawn) return;
      var figure = JSON.parse(data.textContent);
      Plotly.newPlot(target, figure.data, figure.layout, { responsive: true, displaylogo: false, displayModeBar: "hover" });
      target.dataset.drawn = "true";
    });
  }
  var script = document.querySelector("script[data-plotly]");
  if (window.Plotly || !script) draw(document);
  else script.addEventListener("load", function () { draw(document); });
  document.body.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  document.body.addEventListener("clab:swapped", function (event) { draw(event.detail); });
})();
