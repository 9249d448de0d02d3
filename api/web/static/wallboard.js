// The wallboard: redraw on pushes (at most once a second), tick the times, show staleness.
"use strict";
(function () {
  const board = document.getElementById("board");
  let lastId = document.body.dataset.lastEventId || "";
  let pending = false;
  let lastDrawn = Date.now();

  function redraw() {
    if (pending) return;
    pending = true;
    setTimeout(function () {
      pending = false;
      htmx.trigger(board, "refresh");
    }, 1000);
  }

  function connect() {
    const source = new EventSource("/wallboard/events?last_event_id=" + encodeURIComponent(lastId));
    source.addEventListener("changed", function (e) {
      if (e.lastEventId) lastId = e.lastEventId;
      redraw();
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        // An error answer (the API restarting, the session over): reload shows which.
        setTimeout(function () { window.location.reload(); }, 5000);
      }
    });
  }

  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target.id === "board") lastDrawn = Date.now();
  });

  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("time.ticking")) {
      const seconds = Math.max(0, Math.floor((now - Date.parse(el.getAttribute("datetime"))) / 1000));
      const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
      const mm = String(m).padStart(2, "0"), ss = String(s).padStart(2, "0");
      el.textContent = h ? h + ":" + mm + ":" + ss : m + ":" + ss;
    }
    // The board redraws every 5 s: three missed redraws mean old numbers, said plainly.
    const age = Math.floor((now - lastDrawn) / 1000);
    const stale = document.querySelector(".board .stale");
    if (stale) {
      stale.hidden = age < 15;
      stale.textContent = document.body.dataset.staleText + " (" + age + " s)";
    }
  }

  setInterval(tick, 1000);
  tick();
  connect();
})();
