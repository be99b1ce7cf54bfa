// Live classroom screens, by short polling: a student's screen asks the live
// endpoint with the version it has (an empty 204 when nothing changed) and
// swaps in what changed; poll charts ask for counts the same way. The
// presenter's replay slider and the end of a presented run are sent back so
// that every student's screen follows.
(function () {
  "use strict";
  var STUDENT_POLL_MS = 1000;
  var RESULTS_POLL_MS = 500;
  var MEMBERS_POLL_MS = 2000;
  var csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value ||
    JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];

  function post(url, data) {
    var body = new URLSearchParams(data || {});
    return fetch(url, { method: "POST", body: body, headers: { "X-CSRFToken": csrf }, credentials: "same-origin" });
  }

  // A bar chart of a poll's answers, with the same numbers in a table beside it.
  function attachPollChart(el) {
    if (el.dataset.attached) return;
    el.dataset.attached = "true";
    var chart = el.querySelector("[data-poll-chart-plot]");
    var table = el.querySelector("tbody");
    var total = el.querySelector("[data-poll-total]");
    var token = "";
    function draw(body) {
      var colors = body.labels.map(function (_, i) { return body.correct.indexOf(i) >= 0 ? "#16a34a" : "#2563eb"; });
      Plotly.react(chart, [{ type: "bar", orientation: "h", y: body.labels, x: body.counts, marker: { color: colors },
        hovertemplate: "%{y}: %{x}<extra></extra>" }],
        { margin: { t: 8, r: 16, b: 40, l: 16 }, height: 60 + 40 * Math.max(1, body.labels.length),
          xaxis: { rangemode: "tozero", title: { text: "answers" }, dtick: 1 },
          yaxis: { autorange: "reversed", automargin: true } },
        { responsive: true, displaylogo: false });
      table.textContent = "";
      body.labels.forEach(function (label, i) {
        var row = table.insertRow();
        row.insertCell().textContent = label;
        row.insertCell().textContent = String(body.counts[i]);
      });
      total.textContent = String(body.total);
      el.dataset.total = String(body.total);
    }
    function tick() {
      if (!document.body.contains(el)) return;  // swapped away: stop asking
      var url = el.dataset.resultsUrl + (el.dataset.resultsUrl.indexOf("?") >= 0 ? "&" : "?") + "v=" + encodeURIComponent(token);
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 200) return response.json().then(function (body) { token = body.v; draw(body); });
        })
        .catch(function () {})
        .then(function () { setTimeout(tick, RESULTS_POLL_MS); });
    }
    tick();
  }

  function attachAll(root) {
    root.querySelectorAll("[data-poll-chart]").forEach(attachPollChart);
    document.body.dispatchEvent(new CustomEvent("clab:swapped", { detail: root }));
  }

  // A student's screen.
  function followRoom(live) {
    var pollBox = live.querySelector("[data-live-poll]");
    var assignmentsBox = document.querySelector("[data-live-assignments]");
    var runBox = live.querySelector("[data-live-run]");
    var version = live.dataset.version;
    var runKey = live.dataset.runKey;
    var chart = null;

    function startRun() {
      var root = runBox.querySelector("[data-run-chart]");
      // Fed by this screen's live requests: no second request a second for the run's frames.
      chart = root ? window.clabRunChart(root, { fed: true }) : null;
    }
    function applyStep(step) {
      var root = runBox.querySelector("[data-run-chart]");
      if (!chart || !root || root.dataset.final !== "true") return;
      var count = step === null || step === undefined ? parseInt(root.dataset.frames, 10) : step;
      if (count > 0 && String(count) !== root.dataset.replayFrame) chart.show(count);
      var readout = runBox.querySelector("[data-step-readout]");
      if (readout) readout.textContent = step === null || step === undefined ? "" : "Your instructor is showing frame " + count + ".";
    }
    function tick() {
      var url = live.dataset.liveUrl + "&v=" + encodeURIComponent(version) + "&run=" + encodeURIComponent(runKey);
      var cursor = chart ? chart.cursor() : null;
      if (cursor !== null) url += "&f=" + cursor;
      fetch(url, { credentials: "same-origin" })
        .then(function (response) {
          if (response.status !== 200) return;
          return response.json().then(function (body) {
            version = String(body.v);
            live.dataset.version = version;
            if (body.poll_html === undefined) {  // the class is as it was: only the live run's new frames
              if (chart) chart.feed(body.frames, body.next);
              return;
            }
            // Keep a half-typed answer: only swap the poll when it is a different one or its state changed.
            if (pollBox.dataset.key !== body.poll_key) {
              pollBox.innerHTML = body.poll_html;
              pollBox.dataset.key = body.poll_key;
              if (window.htmx) htmx.process(pollBox);
              attachAll(pollBox);
            }
            // Server-rendered and escaped by Django's templates, like the poll.
            if (assignmentsBox && assignmentsBox.dataset.key !== body.assignments_key) {
              assignmentsBox.innerHTML = body.assignments_html;
              assignmentsBox.dataset.key = body.assignments_key;
            }
            if (body.run_html !== undefined) {
              runBox.innerHTML = body.run_html;
              runKey = body.run_key;
              live.dataset.runKey = runKey;
              startRun();
            } else if (body.frames && chart) {
              chart.feed(body.frames, body.next);
            }
            applyStep(body.step);
          });
        })
        .catch(function () {})
        .then(function () { setTimeout(tick, STUDENT_POLL_MS); });
    }
    startRun();
    var initialStep = live.dataset.step;
    applyStep(initialStep === "" ? null : parseInt(initialStep, 10));
    setTimeout(tick, STUDENT_POLL_MS);
  }

  // The instructor's console.
  function drivePresenter(console_) {
    var root = console_.querySelector("[data-run-chart]");
    if (root) window.clabRunChart(root);
    var pending = null;
    console_.addEventListener("replay-step", function (event) {
      clearTimeout(pending);
      pending = setTimeout(function () { post(console_.dataset.stepUrl, { step: event.detail }); }, 100);
    });
    document.body.addEventListener("run-final", function () {
      post(console_.dataset.syncUrl).then(function () { window.location.reload(); });
    });
  }

  // The instructor's member list and count (console and projector): 204 until someone joins.
  function followMembers(box) {
    var token = box.dataset.version || "";
    function tick() {
      fetch(box.dataset.membersUrl + "?v=" + encodeURIComponent(token), { credentials: "same-origin" })
        .then(function (response) {
          if (response.status !== 200) return;
          return response.json().then(function (body) {
            token = body.v;
            box.querySelectorAll("[data-members-count]").forEach(function (el) { el.textContent = String(body.count); });
            // Server-rendered and escaped by Django's templates.
            box.querySelectorAll("[data-members]").forEach(function (el) { el.innerHTML = body.html; });
          });
        })
        .catch(function () {})
        .then(function () { setTimeout(tick, MEMBERS_POLL_MS); });
    }
    setTimeout(tick, MEMBERS_POLL_MS);
  }
  document.querySelectorAll("[data-live-members]").forEach(followMembers);

  var live = document.querySelector("[data-classroom-live]");
  if (live) {
    followRoom(live);
  }
  var presenter = document.querySelector("[data-presenter]");
  if (presenter) drivePresenter(presenter);
  attachAll(document);
  // An answer saved through htmx replaces the poll box; its chart (if shown) starts again.
  document.body.addEventListener("htmx:afterSettle", function (event) { attachAll(event.target); });
})();
