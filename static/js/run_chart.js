// Draws a run's charts and, while the run is live, appends the frames the
// worker emits: the browser polls a cursor endpoint and extends each trace.
// Plotly loads async: polling (and the progress bar) start at once, and frames that
// arrive before Plotly has parsed wait in `pending` until the charts are drawn.
// A finished run can be replayed frame by frame with a slider, including a run
// that finishes while it is watched (htmx swaps the replay controls in).
// window.clabRunChart(root) does the same for charts swapped in later (a
// classroom screen following the presenter) and returns {show: frameCount}.
// With {fed: true} it does not poll: whoever attached it passes new frames to
// feed(frames, next) and asks cursor() what to request (null once final) — a
// classroom screen gets them in its one live request a second.
(function () {
  "use strict";

  function whenPlotly(callback) {
    if (window.Plotly) return callback();
    var script = document.querySelector("script[data-plotly]");
    if (script) script.addEventListener("load", callback);
  }

  function attach(root, options) {
    if (!root) return null;
    var fed = Boolean(options && options.fed);
    var figures = JSON.parse(document.getElementById("run-figures").textContent);
    var pollMs = parseInt(root.dataset.pollMs, 10) || 250;
    var cursor = parseInt(root.dataset.cursor, 10) || 0;
    var note = root.querySelector("[data-live-note]");
    var bar = document.querySelector("[data-progress]");
    var eta = document.querySelector("[data-eta]");
    var config = { responsive: true, displaylogo: false, displayModeBar: "hover" };
    var drawn = false, pending = [], wanted = null;
    // The full series of each trace, kept for the replay slider.
    var full = figures.map(function (figure) {
      return figure.data.map(function (trace) { return { x: trace.x.slice(), y: trace.y.slice() }; });
    });

    function draw() {
      figures.forEach(function (figure, i) {
        Plotly.newPlot("chart-" + i, figure.data, figure.layout, config);
      });
      drawn = true;
      if (pending.length) { plot(pending); pending = []; }
      root.dataset.points = String(cursor);
      root.dataset.drawn = "true";
      if (wanted !== null) show(wanted);
    }

    function plot(frames) {
      figures.forEach(function (figure, i) {
        var update = { x: [], y: [] };
        figure.data.forEach(function (trace) {
          update.x.push(frames.map(function (f) { return f[trace.meta.x]; }));
          update.y.push(frames.map(function (f) { return f[trace.meta.y]; }));
        });
        Plotly.extendTraces("chart-" + i, update, figure.data.map(function (_, j) { return j; }));
      });
    }

    function extend(frames) {
      figures.forEach(function (figure, i) {
        figure.data.forEach(function (trace, j) {
          frames.forEach(function (f) { full[i][j].x.push(f[trace.meta.x]); full[i][j].y.push(f[trace.meta.y]); });
        });
      });
      if (drawn) plot(frames); else pending = pending.concat(frames);
    }

    function showProgress(body) {
      if (!bar || body.progress === null || body.progress === undefined) return;
      bar.value = body.progress;
      var percent = Math.round(body.progress * 100) + "%";
      if (body.status === "cancelled") eta.textContent = "Cancelled at " + percent;
      else if (body.status === "failed") eta.textContent = "Failed at " + percent;
      else eta.textContent = percent + (body.eta_seconds ? " · about " + Math.ceil(body.eta_seconds) + " s left" : "");
    }

    function poll() {
      fetch(root.dataset.framesUrl + "?after=" + cursor, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (body.frames.length) {
            extend(body.frames);
            cursor = body.next;
            if (drawn) root.dataset.points = String(cursor);
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

    // Draws the first `count` frames of a finished run (once Plotly is there).
    function show(count) {
      if (!drawn) { wanted = count; return; }
      figures.forEach(function (figure, i) {
        var xs = full[i].map(function (s) { return s.x.slice(0, count); });
        var ys = full[i].map(function (s) { return s.y.slice(0, count); });
        Plotly.restyle("chart-" + i, { x: xs, y: ys });
      });
      root.dataset.replayFrame = String(count);
    }

    function setupReplay() {
      var replay = document.querySelector("[data-replay]");
      if (!replay || replay.dataset.ready || !drawn) return;
      replay.dataset.ready = "true";
      var slider = replay.querySelector("[data-replay-slider]");
      var readout = replay.querySelector("[data-replay-readout]");
      function showAndTell(count) {
        show(count);
        if (!figures.length) return;
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

    // The status panel is swapped in by htmx; once final it brings the replay controls.
    document.body.addEventListener("htmx:afterSettle", setupReplay);
    function feed(frames, next) {
      if (!frames.length) return;
      extend(frames);
      cursor = next;
      if (drawn) root.dataset.points = String(cursor);
    }

    if (root.dataset.final !== "true" && !fed) poll();
    whenPlotly(function () { draw(); setupReplay(); });
    return {
      show: show,
      feed: feed,
      cursor: function () { return root.dataset.final === "true" ? null : cursor; }
    };
  }

  window.clabRunChart = attach;
  var root = document.querySelector("[data-run-chart]");
  if (root && !root.hasAttribute("data-manual")) attach(root);
})();
