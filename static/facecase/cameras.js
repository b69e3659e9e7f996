// Live wall and single-camera view: every second, reload each camera's snapshot and its health from the
// permission-checked status endpoint (no reload of the page; the alert banner comes through events.js).
// A change of health ("camera.health": live, stalled, failed with its reason) is also pushed over the WebSocket
// (events.js re-dispatches it as a "facecase:camera.health" DOM event) and shown at once, between two polls.
(function () {
  "use strict";
  var wall = document.getElementById("camera-wall");
  if (!wall) return;
  var url = wall.getAttribute("data-status-url");
  function text(tile, field, value) {
    var el = tile.querySelector('[data-field="' + field + '"]');
    if (el) el.textContent = value;
  }
  function refresh() {
    var now = Date.now();
    wall.querySelectorAll(".camera-snapshot").forEach(function (img) {
      var src = img.getAttribute("data-src");
      img.src = src + (src.indexOf("?") >= 0 ? "&" : "?") + "t=" + now;
    });
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        data.cameras.forEach(function (cam) {
          var tile = wall.querySelector('[data-camera-id="' + cam.id + '"]');
          if (!tile) return;
          var badge = tile.querySelector('[data-field="health"]');
          if (badge) { badge.textContent = cam.health; badge.className = "pill camera-health health-" + cam.health; }
          text(tile, "reason", cam.reason || "");
          text(tile, "lag_s", cam.lag_s === null ? "—" : cam.lag_s + " s");
          text(tile, "fps_analysed", cam.fps_analysed);
          text(tile, "fps_received", cam.fps_received);
          text(tile, "last_frame_at", cam.last_frame_at || "—");
          if (cam.last_alert) text(tile, "last_alert", "last alert: " + cam.last_alert.suspect_name);
        });
      })
      .catch(function () {});
  }
  document.addEventListener("facecase:camera.health", function (event) {
    var p = event.detail || {};
    var tile = wall.querySelector('[data-camera-id="' + p.camera_id + '"]');
    if (!tile) return;
    var badge = tile.querySelector('[data-field="health"]');
    if (badge) { badge.textContent = p.health; badge.className = "pill camera-health health-" + p.health; }
    text(tile, "reason", p.reason || "");
  });
  setInterval(refresh, 1000);
})();
