// A 503 (the database was busy) does not lose what the browser sent: wait as long as the
// server's Retry-After asks, then send the same htmx request again from the same element,
// with the form's current values (an answer, a draft). Polls (GETs) simply poll again.
(function () {
  "use strict";
  var MAX_RETRIES = 6;

  document.addEventListener("htmx:responseError", function (event) {
    var detail = event.detail, elt = detail.elt, xhr = detail.xhr;
    if (xhr.status !== 503 || detail.requestConfig.verb === "get") return;
    var tries = (elt.clabRetries || 0) + 1;
    if (tries > MAX_RETRIES) return;
    elt.clabRetries = tries;
    var seconds = parseInt(xhr.getResponseHeader("Retry-After"), 10);
    if (isNaN(seconds)) seconds = 5;
    setTimeout(function () {
      htmx.ajax(detail.requestConfig.verb.toUpperCase(), detail.requestConfig.path, { source: elt });
    }, Math.min(seconds, 60) * 1000);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) event.detail.elt.clabRetries = 0;
  });
})();
