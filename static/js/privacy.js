// Privacy settings: while an export is being prepared, ask for its status every few seconds and reload the page
// (which shows the download link) once it changes.
(function () {
  "use strict";
  var section = document.getElementById("export");
  if (!section) { return; }
  var status = section.getAttribute("data-status");
  if (status !== "queued" && status !== "running") { return; }
  var url = section.getAttribute("data-status-url");
  var timer = window.setInterval(function () {
    window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && body.status !== status) {
          window.clearInterval(timer);
          window.location.reload();
        }
      })
      .catch(function () { /* try again on the next tick */ });
  }, 3000);
})();
