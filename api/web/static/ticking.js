// Every <time class="ticking" datetime="..."> on a page shows, each second, how long ago
// that was (m:ss, or h:mm:ss): an officer's time in a state, a caller's wait.
"use strict";
(function () {
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("time.ticking")) {
      const seconds = Math.max(0, Math.floor((now - Date.parse(el.getAttribute("datetime"))) / 1000));
      const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
      const mm = String(m).padStart(2, "0"), ss = String(s).padStart(2, "0");
      el.textContent = h ? h + ":" + mm + ":" + ss : m + ":" + ss;
    }
  }
  setInterval(tick, 1000);
  tick();
})();
