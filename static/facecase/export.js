// The evidence export page reloads itself while the worker builds the package (queued or running).
(function () {
  var state = document.getElementById("export-state");
  if (!state) return;
  var status = state.getAttribute("data-export-status");
  if (status === "queued" || status === "running") {
    window.setTimeout(function () { window.location.reload(); }, 2000);
  }
})();
