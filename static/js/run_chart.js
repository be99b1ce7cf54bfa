// Draws a run's charts and, while the run is live, appends the frames the
// worker emits: the browser polls a cursor endpoint and extends each trace.
// A finished run can be replayed frame by frame with a slider.
// window.clabRunChart(root) does the same for charts swapped in later (a
// classroom screen following the presenter) and returns {show: frameCount}.
(function () {
  "use strict";
  function attach(root) {
  if (!root || !window.Plotly) return null;
  var figures = JSON.parse(document.getElementById("run-figures").textContent);
  var pollMs = parseInt(root.dataset.pollMs, 10) || 250;
  var cursor = parseInt(root.dataset.cursor, 10) || 0;
  var note = root.querySelector("[data-live-note]");
  var bar = document.querySelector("[data-progress]");
  var eta = document.querySelector("[data-eta]");
  var config = { responsive: true, displaylogo: false };
  // The full series of each trace, kept for the replay slider.
  var full = figures.map(function (figure) {
    return figure.data.map(function (trace) { return { x: trace.x.slice(), y: trace.y.slice() }; });
  });

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

  function showProgress(body) {
    if (!bar || body.progress === null || body.progress === undefined) return;
    bar.value = body.progress;
    eta.textContent = Math.round(body.progress * 100) + "%" +
      (body.eta_seconds ? " · about " + Math.ceil(body.eta_seconds) + " s left" : "");
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
        showProgress(body);
        note.textContent = body.error || "";
        if (body.final) {
          root.dataset.final = "true";
          document.body.dispatchEvent(new Event("run-final"));
        } else {
          setTimeout(poll, pollMs);
        }
      })
      .catch(function () {
        note.textContent = "Lost contact with the server; retrying…";
        setTimeout(poll, 2000);
      });
  }

  // Draws the first `count` frames of a finished run.
  function show(count) {
    figures.forEach(function (figure, i) {
      var xs = full[i].map(function (s) { return s.x.slice(0, count); });
      var ys = full[i].map(function (s) { return s.y.slice(0, count); });
      Plotly.restyle("chart-" + i, { x: xs, y: ys });
    });
    root.dataset.replayFrame = String(count);
  }

  function setupReplay() {
    var replay = document.querySelector("[data-replay]");
    if (!replay) return;
    var slider = replay.querySelector("[data-replay-slider]");
    var readout = replay.querySelector("[data-replay-readout]");
    function showAndTell(count) {
      show(count);
      var last = figures[0].data.map(function (trace, j) {
        return trace.name + ": " + full[0][j].y[count - 1];
      });
      readout.textContent = "Frame " + count + " of " + slider.max + " (t = " + full[0][0].x[count - 1] + " ms) · " + last.join(" · ");
      root.dispatchEvent(new CustomEvent("replay-step", { detail: count, bubbles: true }));
    }
    slider.addEventListener("input", function () { showAndTell(parseInt(slider.value, 10)); });
    replay.querySelectorAll("[data-replay-step]").forEach(function (button) {
      button.addEventListener("click", function () {
        var next = parseInt(slider.value, 10) + parseInt(button.dataset.replayStep, 10);
        slider.value = String(Math.max(1, Math.min(parseInt(slider.max, 10), next)));
        showAndTell(parseInt(slider.value, 10));
      });
    });
  }

  if (root.dataset.final !== "true") poll();
  else setupReplay();
  return { show: show };
  }

  window.clabRunChart = attach;
  var root = document.querySelector("[data-run-chart]");
  if (root && !root.hasAttribute("data-manual")) attach(root);
})();
