// Draws a run's charts and, while the run is live, appends the frames the
// worker emits: the browser polls a cursor endpoint and extends each trace.
(function () {
  "use strict";
  var root = document.querySelector("[data-run-chart]");
  if (!root || !window.Plotly) return;
  var figures = JSON.parse(document.getElementById("run-figures").textContent);
  var cursor = parseInt(root.dataset.cursor, 10) || 0;
  var note = root.querySelector("[data-live-note]");
  var config = { responsive: true, displaylogo: false };

  figures.forEach(function (figure, i) {
    Plotly.newPlot("chart-" + i, figure.data, figure.layout, config);
  });
  root.dataset.points = String(cursor);

  function extend(frames) {
    figures.forEach(function (figure, i) {
      var update = { x: [], y: [] };
      figure.data.forEach(function (trace) {
        update.x.push(frames.map(function (f) { return f[trace.meta.x]; }));
        update.y.push(frames.map(function (f) { return f[trace.meta.y]; }));
      });
      Plotly.extendTraces("chart-" + i, update, figure.data.map(function (_, j) { return j; }));
    });
  }

  function poll() {
    fetch(root.dataset.framesUrl + "?after=" + cursor, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.frames.length) {
          extend(body.frames);
          cursor = body.next;
          root.dataset.points = String(cursor);
        }
        note.textContent = body.error || "";
        if (body.final) {
          root.dataset.final = "true";
          document.body.dispatchEvent(new Event("run-final"));
        } else {
          setTimeout(poll, 250);
        }
      })
      .catch(function () {
        note.textContent = "Lost contact with the server; retrying…";
        setTimeout(poll, 2000);
      });
  }

  if (root.dataset.final !== "true") poll();
})();
