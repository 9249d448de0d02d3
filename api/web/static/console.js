// The officers' console: live pushes (SSE), the ringing alert, drafts.
// No inline script anywhere (the pages' CSP forbids it); htmx does the requests.
"use strict";
(function () {
  const originalTitle = document.title;
  const live = document.getElementById("live");
  const banner = document.getElementById("ring-banner");
  const monitored = document.getElementById("monitored");
  let audio = null;

  function refresh(target, url) {
    // Each target is its own source: htmx lets one element have one request in flight, so
    // a shared source would drop the pop's second and third fragments.
    if (document.querySelector(target)) {
      htmx.ajax("GET", url, { source: target, target: target, swap: "innerHTML" });
    }
  }

  function formDirty() {
    const form = document.querySelector("#form form");
    return form && form.dataset.dirty === "1";
  }

  function beep() {
    try {
      audio = audio || new AudioContext();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.4);
    } catch (e) { /* no audio device: the banner and the title still show */ }
  }

  function ringing(on) {
    banner.hidden = !on;
    document.title = on ? "\u260E " + banner.querySelector("strong").textContent + " \u00B7 " + originalTitle : originalTitle;
  }

  function onRing(data) {
    ringing(true);
    beep();
    refresh("#caller", "/console/calls/" + encodeURIComponent(data.linkedid));
    if (!formDirty()) refresh("#form", "/console/form/" + encodeURIComponent(data.linkedid));
    refresh("#status", "/console/status");
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification(banner.querySelector("strong").textContent);
    }
  }

  // The id of the last push this page has seen: a reconnect asks for everything after it.
  let lastId = document.body.dataset.lastEventId || "";

  function seen(e) {
    if (e.lastEventId) lastId = e.lastEventId;
    return JSON.parse(e.data);
  }

  function lost() {
    live.textContent = live.dataset.lost;
    live.classList.add("lost");
  }

  // EventSource retries by itself after a dropped connection (sending Last-Event-ID), but
  // gives up for good on an error answer (the API restarting behind a proxy, a session
  // that ended). Then: to the sign-in page if the session is over, else a new stream.
  function recover() {
    const asked = { headers: { "HX-Request": "true", "HX-Current-URL": window.location.href } };
    fetch("/console/status", asked).then(function (r) {
      const signIn = r.headers.get("HX-Redirect");
      if (r.status === 401 && signIn) window.location.assign(signIn);
      else setTimeout(connect, 2000);
    }, function () { setTimeout(recover, 2000); });
  }

  function connect() {
    const source = new EventSource("/console/events?last_event_id=" + encodeURIComponent(lastId));
    source.addEventListener("open", function () {
      live.textContent = live.dataset.ok;
      live.classList.remove("lost");
    });
    source.addEventListener("error", function () {
      lost();
      if (source.readyState === EventSource.CLOSED) recover();
    });
    source.addEventListener("ring", function (e) { onRing(seen(e)); });
    source.addEventListener("answered", function (e) {
      seen(e);
      ringing(false);
      refresh("#status", "/console/status");
    });
    source.addEventListener("monitored", function (e) {
      const data = seen(e);
      monitored.textContent = monitored.dataset[data.mode] || "";
      monitored.hidden = !monitored.textContent;
    });
    for (const kind of ["ended", "missed"]) {
      source.addEventListener(kind, function (e) {
        ringing(false);
        if (kind === "ended") monitored.hidden = true;
        const data = seen(e);
        const panel = document.querySelector("#caller .caller");
        if (panel && panel.dataset.linkedid === data.linkedid) {
          refresh("#caller", "/console/calls/" + encodeURIComponent(data.linkedid));
        }
        refresh("#status", "/console/status");
        refresh("#day", "/console/day");
      });
    }
    source.addEventListener("state", function (e) { seen(e); refresh("#status", "/console/status"); });
    source.addEventListener("callback", function (e) { seen(e); refresh("#callbacks", "/console/callbacks"); });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  // Drafts: every keystroke is kept in this browser until the form is saved, so a call
  // that drops (or a reload) never loses what the officer typed.
  function draftKey(form) { return "lapor-draft:" + form.dataset.draftKey; }

  function restoreDraft() {
    const form = document.querySelector("#form form");
    if (!form) return;
    const saved = localStorage.getItem(draftKey(form));
    if (!saved) return;
    const values = JSON.parse(saved);
    for (const [name, value] of Object.entries(values)) {
      const field = form.elements.namedItem(name);
      if (field && field.type !== "hidden") field.value = value;
    }
    form.dataset.dirty = "1";
    form.querySelector(".draft").hidden = false;
  }

  document.addEventListener("input", function (e) {
    const form = e.target.closest("#form form");
    if (!form) return;
    const values = {};
    for (const field of form.elements) {
      if (field.name && field.type !== "hidden" && field.tagName !== "BUTTON") values[field.name] = field.value;
    }
    localStorage.setItem(draftKey(form), JSON.stringify(values));
    form.dataset.dirty = "1";
    form.querySelector(".draft").hidden = false;
  });

  document.body.addEventListener("htmx:afterRequest", function (e) {
    const form = e.detail.elt;
    if (form.matches && form.matches(".complaint-form") && e.detail.xhr.status < 300) {
      localStorage.removeItem(draftKey(form));
      const drawn = document.querySelector("#form form");
      if (drawn) {
        drawn.dataset.dirty = "";
        drawn.querySelector(".draft").hidden = true;
      }
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target.id === "form") restoreDraft();
    const number = document.getElementById("caller-number");
    if (e.detail.target.id === "caller" && number) {
      document.getElementById("ring-caller").textContent = number.textContent;
    }
  });
  // Failed actions still show their fragment (an Indonesian message), not nothing.
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status >= 400 && e.detail.xhr.status < 600 && e.detail.xhr.status !== 401) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  // Browsers play sound only after a gesture: the first click unlocks it, and asks once
  // whether desktop notifications may show a ringing call.
  document.addEventListener("click", function unlock() {
    try { audio = audio || new AudioContext(); audio.resume(); } catch (e) { /* none */ }
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
    document.removeEventListener("click", unlock);
  });

  restoreDraft();
  connect();
})();
