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

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + url);
    socket.onopen = function () { delay = 1000; setBadge("live", "on"); };
    socket.onmessage = function (message) {
      const event = JSON.parse(message.data);
      const handler = handlers[event.type];
      if (handler) { handler(event.payload); }
      document.dispatchEvent(new CustomEvent("facecase:" + event.type, { detail: event.payload }));
    };
    socket.onclose = function (closing) {
      setBadge("offline", "off");
      if (closing.code === 4401) { return; }  // logged out: do not hammer the server
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
