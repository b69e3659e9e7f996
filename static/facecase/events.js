// Live updates for FaceCase pages: one WebSocket to /ws/events/, events {"type": ..., "payload": {...}}.
// Pages mark what can change with data attributes (data-footage-id, data-footage-log); this script only
// updates those elements, so templates stay plain HTML that also works without it.
(function () {
  "use strict";
  const url = document.body.dataset.eventsUrl;
  if (!url) { return; }
  const badge = document.getElementById("live-status");
  let delay = 1000;

  function setBadge(text, cls) {
    if (!badge) { return; }
    badge.textContent = text;
    badge.className = "live " + cls;
  }

  function footageRows(id) {
    return document.querySelectorAll('[data-footage-id="' + id + '"]');
  }

  const handlers = {
    "footage.progress": function (p) {
      footageRows(p.footage_id).forEach(function (row) {
        row.querySelectorAll(".footage-progress").forEach(function (bar) { bar.value = p.progress; });
      });
    },
    "footage.status": function (p) {
      footageRows(p.footage_id).forEach(function (row) {
        row.querySelectorAll(".footage-status").forEach(function (cell) {
          cell.textContent = p.status;
          cell.className = "footage-status status-" + p.status;
        });
        row.querySelectorAll(".footage-progress").forEach(function (bar) { bar.value = p.progress; });
        if (p.error) { row.querySelectorAll(".footage-error").forEach(function (cell) { cell.textContent = p.error; }); }
      });
    },
    "footage.log": function (p) {
      const list = document.querySelector('[data-footage-log="' + p.footage_id + '"]');
      if (!list || list.querySelector('[data-seq="' + p.seq + '"]')) { return; }
      const item = document.createElement("li");
      item.dataset.seq = p.seq;
      item.className = "level-" + p.level;
      const time = document.createElement("time");
      time.textContent = new Date(p.created_at).toISOString().slice(11, 19);  // UTC, like the server-rendered lines
      item.appendChild(time);
      item.appendChild(document.createTextNode(" " + p.message));
      list.appendChild(item);
    },
    "alert.created": function (p) {
      const feed = document.getElementById("alert-feed");
      if (!feed) { return; }
      const item = document.createElement("li");
      item.className = "new-alert";
      item.textContent = (p.suspect_name || "suspect " + p.suspect_id) + " — score " + Number(p.score).toFixed(2);
      feed.prepend(item);
    },
    "alert.reviewed": function (p) {
      document.querySelectorAll('[data-alert-id="' + p.id + '"] .alert-status').forEach(function (cell) {
        cell.textContent = p.status;
      });
    },
  };

  // A dropped socket reconnects quietly: the badge stays "live" for a few seconds and says "reconnecting" only if
  // the connection is still not back by then (the worker's load made it flicker to "offline" during processing).
  // badge.dataset.connected tells pages (the footage page's polling fallback) whether events really arrive.
  const QUIET_S = 4;
  let quietTimer = null;
  function setConnected(yes) { if (badge) { badge.dataset.connected = yes ? "1" : "0"; } }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + url);
    window.FaceCase = Object.assign(window.FaceCase || {}, { socket: socket });
    socket.onopen = function () {
      delay = 1000;
      if (quietTimer) { clearTimeout(quietTimer); quietTimer = null; }
      setConnected(true);
      setBadge("live", "on");
    };
    socket.onmessage = function (message) {
      const event = JSON.parse(message.data);
      const handler = handlers[event.type];
      if (handler) { handler(event.payload); }
      document.dispatchEvent(new CustomEvent("facecase:" + event.type, { detail: event.payload }));
    };
    socket.onclose = function (closing) {
      setConnected(false);
      if (closing.code === 4401 || closing.code === 4403) { setBadge("offline", "off"); return; }  // logged out
      if (!quietTimer && badge && badge.classList.contains("on")) {
        quietTimer = setTimeout(function () { setBadge("reconnecting…", "off"); }, QUIET_S * 1000);
      } else if (!badge || !badge.classList.contains("on")) {
        setBadge(delay >= 16000 ? "offline" : "reconnecting…", "off");
      }
      setTimeout(connect, delay === 1000 ? 300 : delay);  // the first retry at once, then backing off
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
