// The officer's browser phone (JsSIP over WebSocket to Asterisk). Its SIP password is
// asked for once per page load (the previous one stops working) and kept in memory only.
(function () {
  "use strict";
  const box = document.getElementById("phone");
  if (!box || !window.JsSIP) return;
  const $ = (id) => document.getElementById(id);
  const say = (key) => box.dataset["t" + key.replace(/(^|_)([a-z])/g, (m, s, c) => c.toUpperCase())];
  const state = { reg: "off", call: "idle", muted: false, held: false };
  // consult: the attended transfer's call to the unit, while the citizen is held.
  const phone = (window.laporPhone = {
    state, session: null, ua: null, consult: null, consultUp: false, transferring: false,
    iceServers: [],
  });
  // JsSIP sends its SDP when ICE gathering ends; after a quiet spell with no new
  // candidate it goes on without waiting for servers that don't answer. A TURN server's
  // relay candidate takes a round trip or two, hence a longer spell when there is one.
  const iceQuietMs = () => (phone.iceServers.length ? 1500 : 300);
  // An icecandidate handler (one per call) that lets JsSIP go on after that quiet spell.
  function readyWhenIceQuiet() {
    let quiet = null;
    return (e) => { clearTimeout(quiet); quiet = setTimeout(e.ready, iceQuietMs()); };
  }
  const baseTitle = document.title;
  let stream = null;
  let ringer = null;

  function show() {
    $("phone-reg").textContent = say(state.reg);
    $("phone-reg").dataset.state = state.reg;
    const call = phone.consult ? "consulting" : state.held ? "on_hold" : state.call;
    $("phone-call").textContent = say(call);
    $("phone-call").dataset.state = call;
    $("phone-join").disabled = state.reg !== "registered";
    $("phone-answer").disabled = state.call !== "ringing";
    $("phone-hangup").disabled = state.call === "idle";
    $("phone-mute").disabled = state.call !== "on_call";
    $("phone-hold").disabled = state.call !== "on_call" || !!phone.consult;
    $("phone-mute").textContent = say(state.muted ? "unmute" : "mute");
    $("phone-hold").textContent = say(state.held ? "unhold" : "hold");
    $("phone-dtmf").disabled = state.call !== "on_call";
    $("phone-transfer").disabled = state.call !== "on_call" || phone.transferring;
    if ($("phone-blind")) {
      $("phone-blind").hidden = $("phone-consult").hidden = !!phone.consult;
      $("phone-complete").hidden = $("phone-cancel").hidden = !phone.consult;
      $("phone-complete").disabled = !phone.consultUp;
    }
    document.title = state.call === "ringing" ? box.dataset.titleRinging : baseTitle;
    const banner = $("ring-banner");
    if (banner && state.call === "ringing") banner.hidden = false;
  }

  function ring(on) {
    if (ringer) { ringer.stop(); ringer = null; }
    if (!on || !phone.audio) return;
    const ctx = phone.audio, osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 440;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    ringer = osc;
  }

  $("phone-sound").addEventListener("click", () => {
    phone.audio = phone.audio || new AudioContext();
    phone.audio.resume();
    $("phone-sound").hidden = true;
  });

  function ended() {
    if (phone.consult && !phone.transferring) phone.consult.terminate();
    phone.session = null;
    phone.transferring = false;
    state.call = "idle"; state.muted = false; state.held = false;
    ring(false);
    show();
  }

  function incoming(session) {
    if (phone.session) { session.terminate({ status_code: 486, reason_phrase: "Busy Here" }); return; }
    phone.session = session;
    note(null);
    state.call = "ringing";
    ring(true);
    session.on("peerconnection", (ev) => {
      ev.peerconnection.addEventListener("track", (t) => {
        $("phone-audio").srcObject = t.streams[0] || new MediaStream([t.track]);
      });
    });
    session.on("icecandidate", readyWhenIceQuiet());
    session.on("accepted", () => { state.call = "on_call"; ring(false); show(); });
    session.on("ended", ended);
    session.on("failed", ended);
    show();
  }

  $("phone-answer").addEventListener("click", () => {
    if (!phone.session) return;
    phone.session.answer({ mediaStream: stream, pcConfig: { iceServers: phone.iceServers } });
  });
  // During a consultation "Tutup" ends the call to the unit, not the citizen's.
  $("phone-hangup").addEventListener("click", () => {
    const active = phone.consult || phone.session;
    if (active) active.terminate();
  });
  $("phone-mute").addEventListener("click", () => {
    state.muted = !state.muted;
    state.muted ? phone.session.mute() : phone.session.unmute();
    show();
  });
  $("phone-hold").addEventListener("click", () => {
    state.held = !state.held;
    state.held ? phone.session.hold() : phone.session.unhold();
    show();
  });
  $("phone-dtmf").addEventListener("click", (e) => {
    const tone = e.target.dataset && e.target.dataset.tone;
    if (tone && phone.session) phone.session.sendDTMF(tone);
  });

  // Transfers to a city unit's number: the dialplan ([agents]) allows only those, so a
  // REFER to anything else is refused (404) and the citizen stays on this call.
  function note(key) { $("phone-transfer-note").textContent = key ? say(key) : ""; }
  const unitUri = () => "sip:" + $("phone-unit").value + "@" + phone.domain;

  function hear(session) {
    const pc = session && session.connection;
    if (pc) $("phone-audio").srcObject = new MediaStream(pc.getReceivers().map((r) => r.track));
  }

  function refer(target, options) {
    const call = phone.session;
    phone.transferring = true;
    note(null);
    const failed = () => { phone.transferring = false; note("refused"); show(); };
    call.refer(target, { ...options, eventHandlers: {
      requestFailed: failed,
      failed: failed,
      accepted: () => {
        note("transferred");
        if (phone.consult) phone.consult.terminate();
        if (phone.session === call) call.terminate();
      },
    } });
    show();
  }

  function consultEnded() {
    phone.consult = null; phone.consultUp = false;
    if (phone.session && !phone.transferring) {
      if (state.held) { phone.session.unhold(); state.held = false; }
      hear(phone.session);
    }
    show();
  }

  function consult() {
    if (!state.held) { phone.session.hold(); state.held = true; }
    note(null);
    phone.consult = phone.ua.call(unitUri(), {
      mediaStream: stream, pcConfig: { iceServers: phone.iceServers },
      eventHandlers: {
        peerconnection: (ev) => ev.peerconnection.addEventListener("track", (t) => {
          $("phone-audio").srcObject = t.streams[0] || new MediaStream([t.track]);
        }),
        icecandidate: readyWhenIceQuiet(),
        confirmed: () => { phone.consultUp = true; show(); },
        ended: consultEnded,
        failed: consultEnded,
      },
    });
    show();
  }

  if ($("phone-blind")) {
    $("phone-blind").addEventListener("click", () => refer(unitUri(), {}));
    $("phone-consult").addEventListener("click", consult);
    $("phone-complete").addEventListener("click", () => {
      if (phone.consult) refer(phone.consult.remote_identity.uri.toString(), { replaces: phone.consult });
    });
    $("phone-cancel").addEventListener("click", () => { if (phone.consult) phone.consult.terminate(); });
  }

  // What the tests read: the current call's audio byte counters.
  phone.stats = async () => {
    const pc = phone.session && phone.session.connection;
    if (!pc) return null;
    const out = {};
    (await pc.getStats()).forEach((r) => {
      if (r.kind !== "audio") return;
      if (r.type === "inbound-rtp") out.bytesReceived = r.bytesReceived;
      if (r.type === "outbound-rtp") out.bytesSent = r.bytesSent;
    });
    return out;
  };

  async function start() {
    state.reg = "connecting"; show();
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    } catch (e) {
      state.reg = "no_mic"; show(); return;
    }
    const reply = await fetch("/console/phone/credential", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": document.body.dataset.csrf },
    });
    if (!reply.ok) { state.reg = "failed"; show(); return; }
    const account = await reply.json();
    phone.iceServers = account.ice_servers || [];
    phone.domain = account.uri.split("@")[1];
    const ua = (phone.ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(account.ws_url)],
      uri: account.uri, authorization_user: account.username, password: account.password,
      register: true, register_expires: 120, session_timers: false,
    }));
    ua.on("registered", () => { state.reg = "registered"; show(); });
    ua.on("unregistered", () => { state.reg = "off"; show(); });
    ua.on("registrationFailed", (e) => {
      // Refused after working: a newer tab took the phone (its password replaced ours).
      state.reg = state.reg === "registered" && e.cause === JsSIP.C.causes.AUTHENTICATION_ERROR ? "other_tab" : "failed";
      show();
    });
    ua.on("newRTCSession", (e) => { if (e.originator === "remote") incoming(e.session); });
    ua.start();
  }

  // Tab closed or signed out: hang up and un-register at once.
  window.addEventListener("pagehide", () => { if (phone.ua) phone.ua.stop(); });
  document.querySelectorAll('form[action="/logout"]').forEach((form) => {
    form.addEventListener("submit", () => { if (phone.ua) phone.ua.stop(); });
  });
  show();
  start();
})();
