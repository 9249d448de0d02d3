// The wallboard: redraw on pushes (at most once a second), show staleness.
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

  function showAge() {
    const now = Date.now();
    // The board redraws every 5 s: three missed redraws mean old numbers, said plainly.
    const age = Math.floor((now - lastDrawn) / 1000);
    const stale = document.querySelector(".board .stale");
    if (stale) {
      stale.hidden = age < 15;
      stale.textContent = document.body.dataset.staleText + " (" + age + " s)";
    }
  }

  setInterval(showAge, 1000);
  showAge();
  connect();
})();
