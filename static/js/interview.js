// Mock-interview page: the countdown and the safety net under draft autosave.
// The page works without it: the server renders the time left and saves drafts on "Save draft".
(function () {
  "use strict";

  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    return Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }

  // The server says how many seconds were left when it rendered the page (its clock, not the
  // browser's), so a reload shows the true remaining time. Running out only changes the face.
  var timer = null, activeFace = null;
  function startCountdown() {
    var face = document.getElementById("countdown");
    if (face === activeFace) return;  // already ticking (htmx swapped something else)
    if (timer) { clearInterval(timer); timer = null; }
    activeFace = face;
    if (!face) return;
    var value = face.querySelector(".countdown-value");
    var label = face.querySelector(".countdown-label");
    var left = parseInt(face.dataset.remaining, 10) - parseInt(face.dataset.overtime, 10);
    var deadline = performance.now() + left * 1000;
    function tick() {
      if (!document.body.contains(face)) { clearInterval(timer); timer = null; return; }
      var remaining = (deadline - performance.now()) / 1000;
      if (remaining > 0) {
        value.textContent = clock(Math.ceil(remaining));
        face.classList.toggle("low", remaining <= 60);
      } else {
        face.classList.remove("low");
        face.classList.add("expired");
        label.textContent = "Time's up: finish your thought and submit";
        value.textContent = "+" + clock(-remaining);
      }
    }
    tick();
    timer = setInterval(tick, 1000);
  }

  // Every keystroke is also kept in localStorage until the server confirms it has that exact
  // text, so a reload or a dropped connection between two autosaves loses nothing.
  function storeLocal(key, record) {
    try { localStorage.setItem(key, JSON.stringify(record)); } catch (e) { /* private mode: server saves still work */ }
  }
  function readLocal(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }

  function setStatus(text) {
    var status = document.getElementById("draft-status");
    if (status) status.textContent = text;
  }

  function setupDraft() {
    var area = document.querySelector("textarea[data-draft-key]");
    if (!area || area.dataset.draftReady) return;
    area.dataset.draftReady = "1";
    var key = area.dataset.draftKey;
    var local = readLocal(key);
    if (local && !local.saved && local.text !== area.value && local.text.length) {
      area.value = local.text;
      setStatus("Restored what you typed after the last save; saving it now.");
      if (window.htmx) htmx.trigger(area, "keyup");
    }
    area.addEventListener("input", function () {
      storeLocal(key, { text: area.value, saved: false });
    });
    area.addEventListener("htmx:beforeRequest", function () { area.dataset.sending = area.value; });
    area.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) {
        var current = readLocal(key);
        if (!current || current.text === area.dataset.sending) storeLocal(key, { text: area.dataset.sending, saved: true });
      }
    });
    area.addEventListener("htmx:sendError", function () {
      setStatus("Not saved: the connection dropped. What you type is kept in this browser and saved when it is back.");
    });
    // Leaving the page between two autosaves: send the last words with the unload.
    window.addEventListener("pagehide", function () {
      var current = readLocal(key);
      if (current && !current.saved && navigator.sendBeacon && area.form && document.body.contains(area)) {
        navigator.sendBeacon(area.dataset.draftUrl, new FormData(area.form));
      }
    });
  }

  function forgetSubmitted() {
    // A submitted answer lives on the server; its local copy has done its job.
    var panel = document.getElementById("prompt-panel");
    if (panel && panel.dataset.submitted === "yes") {
      try { localStorage.removeItem(panel.dataset.draftKey); } catch (e) { /* ignore */ }
    }
  }

  function init() {
    startCountdown();
    setupDraft();
    forgetSubmitted();
  }

  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
})();
