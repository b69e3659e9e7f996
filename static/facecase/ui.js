// Page behaviour on top of events.js (which owns the WebSocket and re-dispatches every event as a DOM event
// "facecase:<type>"). Each block below runs only when its page's elements are present; without JavaScript
// every page still works as plain forms and links.
(function () {
  "use strict";

  const STATUS_LABELS = { new: "New", confirmed: "Confirmed", dismissed: "Dismissed", not_this_person: "Not this person" };

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function on(type, handler) {
    document.addEventListener("facecase:" + type, function (event) { handler(event.detail || {}); });
  }

  function typing(event) {
    const tag = (event.target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable ||
      event.ctrlKey || event.metaKey || event.altKey;
  }

  // --- collapsible navigation on narrow screens ---------------------------------------------------------------
  const navToggle = document.getElementById("nav-toggle");
  if (navToggle) {
    navToggle.addEventListener("click", function () {
      const open = navToggle.getAttribute("aria-expanded") !== "true";
      navToggle.setAttribute("aria-expanded", String(open));
      navToggle.closest(".topbar").classList.toggle("nav-open", open);
    });
  }

  // --- header count of alerts waiting for review -----------------------------------------------------------
  const counter = document.getElementById("alert-count");
  const baseTitle = document.title;
  function setCount(value) {
    if (!counter) { return; }
    const count = Math.max(0, value);
    counter.textContent = String(count);
    counter.classList.toggle("has", count > 0);
    counter.setAttribute("aria-label", count + " new alerts");
    document.title = (count > 0 ? "(" + count + ") " : "") + baseTitle;
  }
  if (counter) {
    setCount(parseInt(counter.textContent, 10) || 0);
    on("alert.created", function () {
      setCount((parseInt(counter.textContent, 10) || 0) + 1);
      counter.classList.remove("pulse");
      void counter.offsetWidth;  // restart the animation
      counter.classList.add("pulse");
    });
    on("alert.reviewed", function (p) {
      if (p.previous === "local" || p.previous === "local-undo") { return; }  // the server's push follows
      if (p.status === "new" && p.previous && p.previous !== "new") {  // an undo: waiting again
        setCount((parseInt(counter.textContent, 10) || 0) + 1);
      } else if (p.previous === undefined || p.previous === "new") {
        setCount((parseInt(counter.textContent, 10) || 0) - 1);
      }
    });
  }

  // A short two-tone chime; browsers allow sound only after the user has interacted with the page once.
  let audio = null;
  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [880, 1320].forEach(function (freq, i) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, audio.currentTime + i * 0.15);
        gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + i * 0.15 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + i * 0.15 + 0.3);
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + i * 0.15);
        osc.stop(audio.currentTime + i * 0.15 + 0.32);
      });
    } catch (e) { /* no audio device: the visual cue is enough */ }
  }

  // --- the alert queue ---------------------------------------------------------------------------------------
  const table = document.getElementById("alert-table");
  if (table) {
    const rows = document.getElementById("alert-rows");
    const empty = document.getElementById("queue-empty");
    const banner = document.getElementById("queue-banner");
    const live = table.dataset.live === "1";
    const canReview = table.dataset.canReview === "1";
    let selected = -1;
    let missed = 0;

    function allRows() { return Array.prototype.slice.call(rows.querySelectorAll("tr.alert-row")); }
    function select(index) {
      const list = allRows();
      if (!list.length) { return; }
      selected = Math.max(0, Math.min(list.length - 1, index));
      list.forEach(function (row, i) { row.classList.toggle("selected", i === selected); });
      list[selected].focus({ preventScroll: true });
      list[selected].scrollIntoView({ block: "nearest" });
    }
    function syncEmpty() { if (empty) { empty.hidden = allRows().length > 0; } }

    on("alert.created", function (p) {
      chime();
      if (!live) {
        missed += 1;
        banner.innerHTML = "";
        const link = document.createElement("a");
        link.href = table.dataset.queueUrl || "?status=new";
        link.textContent = missed + " new alert" + (missed > 1 ? "s" : "") + " since this page opened — show the queue";
        banner.appendChild(link);
        banner.hidden = false;
        return;
      }
      if (rows.querySelector('[data-alert-id="' + p.id + '"]')) { return; }
      fetch("/alerts/" + p.id + "/row/", { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          const holder = document.createElement("tbody");
          holder.innerHTML = html.trim();
          const row = holder.firstElementChild;
          rows.insertBefore(row, rows.firstChild);
          if (selected >= 0) { selected += 1; }
          syncEmpty();
          banner.textContent = "New alert: " + (p.suspect_name || "suspect") + ".";
          banner.hidden = false;
        });
    });

    on("alert.reviewed", function (p) {
      rows.querySelectorAll('[data-alert-id="' + p.id + '"]').forEach(function (row) {
        row.dataset.status = p.status;
        const pill = row.querySelector(".alert-status");
        pill.textContent = p.status_display || STATUS_LABELS[p.status] || p.status;
        pill.className = "alert-status pill pill-" + p.status;
        const who = row.querySelector(".alert-reviewer");
        if (who) { who.textContent = p.reviewed_by || ""; }
        row.classList.toggle("reviewed", p.status !== "new");
      });
    });

    // A one-key decision is shown with an Undo for a few seconds, or until the next decision.
    const undoBar = document.getElementById("undo-bar");
    const UNDO_S = 8;
    let undoable = null;
    let undoTimer = null;
    function closeUndo() {
      undoable = null;
      if (undoTimer) { clearTimeout(undoTimer); undoTimer = null; }
      if (undoBar) { undoBar.hidden = true; }
    }
    function offerUndo(row, data) {
      closeUndo();
      if (!undoBar) { return; }
      undoable = row.dataset.alertId;
      const name = row.querySelector(".alert-link");
      document.getElementById("undo-text").textContent = "Alert " + data.id + (name ? " (" + name.textContent + ")" : "") +
        ": " + (data.status_display || STATUS_LABELS[data.status]) + ".";
      undoBar.hidden = false;
      undoTimer = setTimeout(closeUndo, UNDO_S * 1000);
    }
    function undo() {
      if (!undoable) { return; }
      const id = undoable;
      closeUndo();
      fetch("/alerts/" + id + "/review/undo/", {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
      }).then(function (response) { return response.json(); }).then(function (data) {
        if (data.error) { banner.textContent = data.error; banner.hidden = false; return; }
        document.dispatchEvent(new CustomEvent("facecase:alert.reviewed", { detail: {
          id: data.id, status: "new", status_display: data.status_display, reviewed_by: "", previous: "local-undo" } }));
        banner.textContent = "Undone: alert " + data.id + " is new again.";
        banner.hidden = false;
        const index = allRows().findIndex(function (r) { return r.dataset.alertId === String(data.id); });
        if (index >= 0) { select(index); }
      });
    }
    if (undoBar) { document.getElementById("undo-btn").addEventListener("click", undo); }

    function review(row, action) {
      if (!canReview || !row || row.dataset.status !== "new") { return; }
      closeUndo();
      const body = new URLSearchParams({ action: action, csrfmiddlewaretoken: csrfToken() });
      fetch("/alerts/" + row.dataset.alertId + "/review/", {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
      }).then(function (response) { return response.json(); }).then(function (data) {
        if (data.error) { banner.textContent = data.error; banner.hidden = false; return; }
        document.dispatchEvent(new CustomEvent("facecase:alert.reviewed", { detail: {
          id: data.id, status: data.status, status_display: data.status_display, reviewed_by: data.reviewed_by,
          previous: "local" } }));
        offerUndo(row, data);
        select(selected + 1);
      });
    }

    rows.addEventListener("click", function (event) {
      const row = event.target.closest("tr.alert-row");
      if (row && !event.target.closest("a")) { window.location.href = row.dataset.href; }
    });
    document.addEventListener("keydown", function (event) {
      if (typing(event)) { return; }
      const list = allRows();
      if (event.key === "j") { select(selected + 1); event.preventDefault(); }
      else if (event.key === "k") { select(selected - 1); event.preventDefault(); }
      else if ((event.key === "Enter" || event.key === "o") && list[selected]) {
        window.location.href = list[selected].dataset.href;
      }
      else if (event.key === "c") { review(list[selected], "confirm"); }
      else if (event.key === "d") { review(list[selected], "dismiss"); }
      else if (event.key === "n") { review(list[selected], "not_this_person"); }
      else if (event.key === "u") { undo(); }
    });
  }

  // --- the review page ---------------------------------------------------------------------------------------
  const reviewBox = document.querySelector(".review[data-alert-id]");
  if (reviewBox) {
    const alertId = reviewBox.dataset.alertId;
    const form = document.getElementById("review-form");

    on("alert.reviewed", function (p) {
      if (String(p.id) !== String(alertId)) { return; }
      reviewBox.dataset.status = p.status;
      const pill = document.querySelector("#review-state .alert-status");
      pill.textContent = p.status_display || STATUS_LABELS[p.status] || p.status;
      pill.className = "alert-status pill pill-" + p.status;
      document.getElementById("reviewed-by").textContent = p.reviewed_by ? "by " + p.reviewed_by + " just now" : "";
      let note = document.getElementById("review-note");
      if (p.note) {
        if (!note) {
          note = document.createElement("blockquote");
          note.id = "review-note";
          note.className = "note";
          document.getElementById("review-state").after(note);
        }
        note.textContent = p.note;  // text, never HTML: notes are typed by people
      } else if (note) { note.remove(); }
      const state = document.getElementById("review-state");
      state.classList.remove("flash"); void state.offsetWidth; state.classList.add("flash");
      const override = form && form.querySelector(".override");
      if (override) { override.hidden = false; }
    });

    document.addEventListener("keydown", function (event) {
      if (typing(event)) { return; }
      const target = document.querySelector('[data-key="' + event.key + '"]');
      if (target) { event.preventDefault(); target.click(); }
    });

    // The face box, drawn in the frame image's own pixel space so it stays right at any displayed size.
    const wrap = document.getElementById("frame-wrap");
    const frame = document.getElementById("full-frame");
    function placeBox() {
      const parts = (wrap.dataset.box || "").split(",").map(Number);
      if (parts.length !== 4 || !frame.naturalWidth) { return; }
      const box = wrap.querySelector(".face-box");
      box.style.left = (100 * parts[0] / frame.naturalWidth) + "%";
      box.style.top = (100 * parts[1] / frame.naturalHeight) + "%";
      box.style.width = (100 * parts[2] / frame.naturalWidth) + "%";
      box.style.height = (100 * parts[3] / frame.naturalHeight) + "%";
      box.style.display = "block";
    }
    if (wrap && frame) {
      if (frame.complete) { placeBox(); } else { frame.addEventListener("load", placeBox); }
    }

    // Explanation: ask once, then wait for the worker (pushed to this user, polled as a fallback).
    const panel = document.getElementById("explanation");
    const button = document.getElementById("explain-btn");
    if (panel && button) {
      const text = document.getElementById("explain-text");
      const img = document.getElementById("explain-img");
      let timer = null;
      let ticker = null;
      let startedAt = 0;
      // The explanation's distance is of this one crop; the candidates list shows the track's fused distance (over
      // its best crops, or from the average of its aligned frames), so the two figures differ and the text says so,
      // in the same words as the server-rendered text (templates/alerts/detail.html).
      const EXPLAIN_TEXT = function (state) {
        return "Distance of this crop: " + Number(state.base_distance).toFixed(3) + " (the candidates list shows the " +
          "track's fused distance: over its best crops, or from the average of its aligned frames where that is " +
          "nearer); hiding the reddest region adds up to " + Number(state.max_increase).toFixed(3) + ".";
      };
      function tick() {
        const progress = document.getElementById("explain-progress");
        if (!progress) { return; }
        const seconds = Math.round((Date.now() - (startedAt || Date.now())) / 1000);
        progress.textContent = "Computing in the background: " + seconds + " s so far (usually 10–20 s). " +
          "You can keep reviewing; the map appears here when it is ready.";
      }
      function show(state) {
        panel.dataset.state = state.state;
        if (state.state === "ready") {
          img.src = state.url + "?v=" + encodeURIComponent(state.sha256 || "");
          img.hidden = false;
          button.hidden = true;
          text.textContent = EXPLAIN_TEXT(state);
        } else if (state.state === "queued") {
          button.hidden = true;
          startedAt = startedAt || Date.now();
          text.innerHTML = '<span class="spinner" aria-hidden="true"></span> <span id="explain-progress"></span>';
          tick();
        } else if (state.state === "failed") {
          button.hidden = false;
          button.textContent = "Try again";
          text.innerHTML = "";
          const span = document.createElement("span");
          span.className = "error";
          span.textContent = "Could not compute: " + (state.error || "unknown error");
          text.appendChild(span);
        }
        if (state.state === "queued" && !timer) { timer = setInterval(poll, 3000); }
        if (state.state === "queued" && !ticker) { ticker = setInterval(tick, 1000); }
        if (state.state !== "queued" && timer) { clearInterval(timer); timer = null; }
        if (state.state !== "queued" && ticker) { clearInterval(ticker); ticker = null; startedAt = 0; }
      }
      function poll() {
        fetch(panel.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.json(); }).then(show);
      }
      button.addEventListener("click", function () {
        fetch(panel.dataset.url, { method: "POST", credentials: "same-origin",
          headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() } })
          .then(function (r) { return r.json(); }).then(show);
      });
      on("alert.explained", function (p) { if (String(p.id) === String(alertId)) { poll(); } });
      if (panel.dataset.state === "queued") { timer = setInterval(poll, 3000); }
    }
  }

  // --- upload with a real progress bar, then the footage page's live progress --------------------------------
  const uploadForm = document.getElementById("upload-form");
  if (uploadForm && window.XMLHttpRequest && window.FormData) {
    uploadForm.addEventListener("submit", function (event) {
      event.preventDefault();
      const input = uploadForm.querySelector("input[type=file]");
      const error = document.getElementById("upload-error");
      const box = uploadForm.querySelector(".upload-progress");
      const bar = document.getElementById("upload-bar");
      const label = document.getElementById("upload-text");
      const submit = uploadForm.querySelector("button[type=submit]");
      if (!input.files.length) { error.textContent = "Choose a file first."; error.hidden = false; return; }
      const file = input.files[0];
      error.hidden = true;
      box.hidden = false;
      submit.disabled = true;
      const xhr = new XMLHttpRequest();
      xhr.open("POST", uploadForm.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        const pct = Math.round(100 * e.loaded / e.total);
        bar.value = pct;
        label.textContent = "Uploading " + file.name + ": " + pct + "% (" + (e.loaded / 1048576).toFixed(1) +
          " of " + (e.total / 1048576).toFixed(1) + " MB)";
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        label.textContent = "Upload complete; checking the file and computing its SHA-256…";
      });
      xhr.addEventListener("load", function () {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = { error: "Upload failed (HTTP " + xhr.status + ")." }; }
        if (xhr.status === 201 && data.url) {
          label.textContent = "Uploaded. Opening live analysis…";
          window.location.href = data.url;
          return;
        }
        submit.disabled = false;
        box.hidden = true;
        const fieldErrors = data.file ? data.file.join(" ") : "";
        error.textContent = data.error || fieldErrors || "Upload failed (HTTP " + xhr.status + ").";
        error.hidden = false;
      });
      xhr.addEventListener("error", function () {
        submit.disabled = false;
        box.hidden = true;
        error.textContent = "The connection broke during the upload. Nothing was saved; try again.";
        error.hidden = false;
      });
      xhr.send(new FormData(uploadForm));
    });
  }

  // --- footage page: percent text, and polling while the WebSocket is down -----------------------------------
  const job = document.querySelector(".job[data-status-url]");
  if (job) {
    const id = job.dataset.footageId;
    const percent = document.getElementById("job-percent");
    const hint = document.getElementById("queued-hint");
    const log = document.querySelector('[data-footage-log="' + id + '"]');
    function lastSeq() {
      const items = log ? log.querySelectorAll("[data-seq]") : [];
      return items.length ? parseInt(items[items.length - 1].dataset.seq, 10) : 0;
    }
    function scrollLog() { if (log) { log.scrollTop = log.scrollHeight; } }
    function showStatus(status, progress, error) {
      const cell = document.getElementById("job-status");
      cell.textContent = status;
      cell.className = "footage-status status-" + status;
      job.querySelector(".footage-progress").value = progress;
      percent.textContent = progress + "%";
      if (hint && status !== "queued") { hint.hidden = true; }
      if (error) { job.querySelector(".footage-error").textContent = "Analysis failed: " + error; }
    }
    // The metadata and sighting tiles are re-rendered by the server (the same partials as the page) while the
    // analysis stores sightings (at most every few seconds) and once more when the job ends.
    let resultsTimer = null;
    let resultsAt = 0;
    function refreshResults() {
      resultsTimer = null;
      resultsAt = Date.now();
      fetch(job.dataset.resultsUrl, { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.text() : Promise.reject(r.status);
      }).then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        ["footage-facts", "footage-sightings"].forEach(function (part) {
          const now = document.getElementById(part);
          const next = fresh.getElementById(part);
          if (now && next) { now.replaceWith(document.importNode(next, true)); }
        });
      }).catch(function () { /* the next event or the end of the job tries again */ });
    }
    function resultsSoon(final) {
      if (final) { if (resultsTimer) { clearTimeout(resultsTimer); } refreshResults(); return; }
      if (!resultsTimer) { resultsTimer = setTimeout(refreshResults, Math.max(0, 4000 - (Date.now() - resultsAt))); }
    }
    on("footage.progress", function (p) {
      if (String(p.footage_id) === id) {
        percent.textContent = p.progress + "%";
        if (hint) { hint.hidden = true; }
        resultsSoon(false);
      }
    });
    on("footage.status", function (p) {
      if (String(p.footage_id) === id) {
        showStatus(p.status, p.progress, p.error);
        resultsSoon(p.status === "done" || p.status === "failed" || p.status === "processing");
      }
    });
    on("footage.log", function (p) { if (String(p.footage_id) === id) { scrollLog(); resultsSoon(false); } });
    scrollLog();
    setInterval(function () {
      const badge = document.getElementById("live-status");
      const status = document.getElementById("job-status").textContent;
      if ((badge && badge.dataset.connected === "1") || status === "done" || status === "failed") { return; }
      fetch(job.dataset.statusUrl + "?after=" + lastSeq(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); }).then(function (data) {
          const before = document.getElementById("job-status").textContent;
          showStatus(data.status, data.progress, data.error);
          resultsSoon(data.status !== before || data.status === "done" || data.status === "failed");
          data.log.forEach(function (line) {
            document.dispatchEvent(new CustomEvent("facecase:footage.log.poll", { detail: line }));
            if (log.querySelector('[data-seq="' + line.seq + '"]')) { return; }
            const item = document.createElement("li");
            item.dataset.seq = line.seq;
            item.className = "level-" + line.level;
            const time = document.createElement("time");
            time.textContent = new Date(line.created_at).toISOString().slice(11, 19);
            item.appendChild(time);
            item.appendChild(document.createTextNode(" " + line.message));
            log.appendChild(item);
          });
          scrollLog();
        });
    }, 3000);
  }
})();
