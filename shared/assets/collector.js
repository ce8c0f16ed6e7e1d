/*! Impressio collector v2 */
(function (w, d, n) {
  "use strict";
  if (w.impressio && w.impressio.loaded) return;
  var ORG = __ORG__;
  var DIGITAL_DATA = __DIGITAL_DATA__;
  var SERVICE_WORKER = __SERVICE_WORKER__;
  var QUEUE_KEY = "_imp_q", COOKIE_TEST_KEY = "_imp_ct", DP_KEY = "_imp_dp", MAX_QUEUED = 50, MAX_QUEUED_BYTES = 16384, MAX_DIGITAL_DATA = 8192;
  var cs = d.currentScript;
  var base = new URL(".", cs && cs.src ? cs.src : w.location.href);
  var query = "?organizationId=" + encodeURIComponent(ORG);
  var endpoint = new URL("t" + query, base).href;
  var userId = null, token = null;
  /*__BEHAVIOR__*/

  // Consent (docs/privacy.md). <script data-consent="wait"> sends nothing until the page calls
  // impressio.consent({analytics, fraud, adUserData, adPersonalization}) (or set
  // window.impressioConsent before the script); events tracked meanwhile wait in memory.
  // Without fraud consent nothing that identifies is measured, stored or sent: no
  // fingerprint, no cookie test, no storage, no cookies on requests, no service worker.
  var WAIT = !!(cs && cs.getAttribute("data-consent") === "wait"), MAX_WAITING = 50;
  function normalize(c) {
    var out = { analytics: !!(c && c.analytics), fraud: !!(c && c.fraud) };
    if (c && typeof c.adUserData === "boolean") out.adUserData = c.adUserData;
    if (c && typeof c.adPersonalization === "boolean") out.adPersonalization = c.adPersonalization;
    return out;
  }
  var consent = w.impressioConsent && typeof w.impressioConsent === "object" ? normalize(w.impressioConsent) : null;
  var openGate = null, waiting = 0;
  var gate = consent || !WAIT ? Promise.resolve() : new Promise(function (resolve) { openGate = resolve; });
  // Whether this page may identify its visitor: with fraud consent, or when the page gives
  // none and does not ask to wait (it manages consent itself).
  function identifying() { return consent ? consent.fraud : !WAIT; }

  // 4 x 32-bit murmur-style hashes with different seeds: 32 hex characters.
  function hash(text) {
    var out = "", s, i, h, k;
    for (s = 1; s <= 4; s++) {
      h = 0x9747b28c ^ Math.imul(s, 0x85ebca6b);
      for (i = 0; i < text.length; i++) {
        k = Math.imul(text.charCodeAt(i), 0xcc9e2d51);
        k = (k << 15) | (k >>> 17);
        h ^= Math.imul(k, 0x1b873593);
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      }
      h ^= text.length;
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      h ^= h >>> 16;
      out += ("0000000" + (h >>> 0).toString(16)).slice(-8);
    }
    return out;
  }
  function attempt(f, fallback) { try { return f(); } catch (e) { return fallback; } }
  // 128 random bits per event, sent again with every retry of it: the edge stores a message
  // once, so an event whose answer was lost (and was queued) is not counted twice.
  function messageId() {
    var b = new Uint8Array(16), c = w.crypto, i, out = "";
    if (c && c.getRandomValues) c.getRandomValues(b); else for (i = 0; i < 16; i++) b[i] = Math.random() * 256;
    for (i = 0; i < 16; i++) out += (b[i] + 256).toString(16).slice(1);
    return out;
  }
  function store(kind) {
    if (!identifying()) return false;
    return attempt(function () { var s = w[kind], k = "_imp_t"; s.setItem(k, "1"); s.removeItem(k); return true; }, false);
  }
  function hasLocal() { return identifying() && store("localStorage"); }

  function canvas() {
    return attempt(function () {
      var c = d.createElement("canvas"), x = c.getContext("2d");
      c.width = 240; c.height = 60;
      x.textBaseline = "alphabetic"; x.fillStyle = "#f60"; x.fillRect(100, 1, 62, 20);
      x.fillStyle = "#069"; x.font = "11pt Arial"; x.fillText("Impressio, \ud83d\ude03 fp!", 2, 15);
      x.fillStyle = "rgba(102, 204, 0, 0.7)"; x.font = "18pt Times New Roman"; x.fillText("Cwm fjordbank gly", 4, 45);
      x.globalCompositeOperation = "multiply";
      x.fillStyle = "rgb(255,0,255)"; x.beginPath(); x.arc(50, 50, 50, 0, Math.PI * 2, true); x.closePath(); x.fill();
      return hash(c.toDataURL());
    }, null);
  }
  function webgl() {
    return attempt(function () {
      var g = d.createElement("canvas").getContext("webgl") || d.createElement("canvas").getContext("experimental-webgl");
      if (!g) return [null, null];
      var e = g.getExtension("WEBGL_debug_renderer_info");
      return [String(g.getParameter(e ? e.UNMASKED_VENDOR_WEBGL : g.VENDOR)).slice(0, 256),
        String(g.getParameter(e ? e.UNMASKED_RENDERER_WEBGL : g.RENDERER)).slice(0, 256)];
    }, [null, null]);
  }
  // An oscillator through a compressor, rendered offline: the sum of the samples differs with
  // the audio stack. Resolves to null where offline audio is missing or too slow.
  function audio() {
    return new Promise(function (resolve) {
      var A = w.OfflineAudioContext || w.webkitOfflineAudioContext;
      if (!A) return resolve(null);
      try {
        var ctx = new A(1, 5000, 44100), o = ctx.createOscillator(), c = ctx.createDynamicsCompressor();
        o.type = "triangle"; o.frequency.value = 10000;
        c.threshold.value = -50; c.knee.value = 40; c.ratio.value = 12; c.attack.value = 0; c.release.value = 0.25;
        o.connect(c); c.connect(ctx.destination); o.start(0);
        var done = false, t = setTimeout(function () { done = true; resolve(null); }, 1000);
        ctx.oncomplete = function (ev) {
          if (done) return;
          clearTimeout(t);
          var s = 0, b = ev.renderedBuffer.getChannelData(0), i;
          for (i = 4500; i < 5000; i++) s += Math.abs(b[i]);
          resolve(s.toFixed(6));
        };
        ctx.startRendering();
      } catch (e) { resolve(null); }
    });
  }
  // Installed fonts by measurement: a font is present when a text in it is wider or taller
  // than in the generic family it falls back to.
  var FONTS = ["Arial", "Arial Black", "Calibri", "Cambria", "Comic Sans MS", "Consolas", "Courier New",
    "DejaVu Sans", "DejaVu Serif", "Droid Sans", "Georgia", "Helvetica", "Helvetica Neue", "Impact",
    "Liberation Mono", "Liberation Sans", "Lucida Console", "Lucida Grande", "Menlo", "Monaco",
    "Noto Color Emoji", "Noto Sans", "Palatino", "Roboto", "Segoe UI", "SF Pro Text", "Tahoma",
    "Times New Roman", "Trebuchet MS", "Ubuntu", "Verdana"];
  function fonts() {
    return attempt(function () {
      var bases = ["monospace", "sans-serif", "serif"], span = d.createElement("span"), box = d.createElement("div"), size = {}, found = [], i, j;
      span.style.cssText = "position:absolute;left:-9999px;font-size:72px;line-height:normal";
      span.textContent = "mmmmmmmmmmlli";
      box.appendChild(span); (d.body || d.documentElement).appendChild(box);
      for (i = 0; i < bases.length; i++) { span.style.fontFamily = bases[i]; size[bases[i]] = span.offsetWidth + "x" + span.offsetHeight; }
      for (i = 0; i < FONTS.length; i++) {
        for (j = 0; j < bases.length; j++) {
          span.style.fontFamily = "'" + FONTS[i] + "'," + bases[j];
          if (span.offsetWidth + "x" + span.offsetHeight !== size[bases[j]]) { found.push(FONTS[i]); break; }
        }
      }
      box.parentNode.removeChild(box);
      return found;
    }, []);
  }
  // WebRTC ICE candidates (host / mDNS / srflx lines) for the WebRTC layer; no STUN server is
  // contacted, and the gathering stops after 800 ms.
  function webrtc() {
    return new Promise(function (resolve) {
      var P = w.RTCPeerConnection || w.webkitRTCPeerConnection, list = [];
      if (!P) return resolve([]);
      try {
        var pc = new P({ iceServers: [] }), finish = function () { attempt(function () { pc.close(); }); resolve(list.slice(0, 32)); };
        pc.createDataChannel("i");
        pc.onicecandidate = function (e) {
          if (!e.candidate) return finish();
          if (e.candidate.candidate) list.push(e.candidate.candidate.slice(0, 256));
        };
        pc.createOffer().then(function (o) { return pc.setLocalDescription(o); }).then(null, finish);
        setTimeout(finish, 800);
      } catch (e) { resolve([]); }
    });
  }

  // The fingerprint hashes the components that stay the same across reloads, cookie clears
  // and private windows of one browser on one device. Left out: the window's size (resized at
  // will), storage availability and cookie persistence (change with privacy settings), the
  // WebRTC candidates (new mDNS names per session) and anything time-dependent.
  var STABLE = ["canvas", "webgl_vendor", "webgl_renderer", "audio", "fonts", "screen", "color_depth",
    "timezone", "languages", "platform", "hardware_concurrency", "device_memory", "touch"];
  function collect() {
    var g = webgl(), sc = w.screen || {};
    var c = {
      canvas: canvas(), webgl_vendor: g[0], webgl_renderer: g[1], fonts: fonts(),
      screen: [sc.width || 0, sc.height || 0], color_depth: sc.colorDepth || null,
      pixel_ratio: w.devicePixelRatio || 1, viewport: [w.innerWidth || 0, w.innerHeight || 0],
      timezone: attempt(function () { return Intl.DateTimeFormat().resolvedOptions().timeZone; }, null),
      timezone_offset: new Date().getTimezoneOffset(),
      languages: (n.languages && n.languages.length ? Array.prototype.slice.call(n.languages, 0, 20) : [n.language || ""]),
      platform: n.platform || null, hardware_concurrency: n.hardwareConcurrency || null,
      device_memory: n.deviceMemory || null,
      touch: [n.maxTouchPoints || 0, "ontouchstart" in w],
      storage: [hasLocal(), store("sessionStorage"), !!w.indexedDB, !!n.cookieEnabled]
    };
    return Promise.all([audio(), webrtc()]).then(function (r) {
      c.audio = r[0];
      var stable = STABLE.map(function (k) { return k + "=" + JSON.stringify(c[k]); }).join("|");
      return { components: c, fingerprint: hash(stable), candidates: r[1] };
    });
  }

  function gaClientId() {
    var m = d.cookie.match(/(?:^|;\s*)_ga=GA\d+\.\d+\.(\d+\.\d+)/);
    return m ? m[1] : undefined;
  }
  function load(key, fallback) { return hasLocal() ? attempt(function () { return JSON.parse(w.localStorage.getItem(key)) || fallback; }, fallback) : fallback; }
  function save(key, v) { if (hasLocal()) attempt(function () { w.localStorage.setItem(key, JSON.stringify(v)); }); }

  // Pro and up: a first-party service worker (<script data-sw="/impressio/sw.js">, a file on
  // the site's own origin that imports our /sw.js) keeps undelivered events in IndexedDB and
  // sends them even after the page is gone. Resolves to the active worker, or null.
  var worker = Promise.resolve(null), swPath = cs && cs.getAttribute("data-sw");
  if (SERVICE_WORKER && swPath && n.serviceWorker && identifying()) {
    worker = n.serviceWorker.register(swPath).then(function (reg) {
      return reg.active || new Promise(function (resolve) {
        var sw = reg.installing || reg.waiting;
        if (!sw) return resolve(null);
        sw.addEventListener("statechange", function () { if (sw.state === "activated") resolve(sw); });
        setTimeout(function () { resolve(null); }, 5000);
      });
    }).then(null, function () { return null; });
  }
  // Resolves true once the worker acknowledged the message (it stored the event).
  function toWorker(msg) {
    return worker.then(function (sw) {
      if (!sw) return false;
      return new Promise(function (resolve) {
        var ch = new MessageChannel();
        ch.port1.onmessage = function (e) { resolve(!!(e.data && e.data.stored)); };
        setTimeout(function () { resolve(false); }, 3000);
        sw.postMessage(msg, [ch.port2]);
      });
    });
  }
  // Events that could not be delivered go to the service worker when there is one, else
  // wait in localStorage (at most 50, each at most 16 KB): the first retry on the next page
  // (or when the browser is back online), later ones after a growing pause
  // (2^(attempts-1) s, at most an hour).
  function enqueue(json, attempts) {
    if (json.length > MAX_QUEUED_BYTES || !identifying()) return Promise.resolve();
    return toWorker({ impressio: "queue", endpoint: endpoint, body: json }).then(function (kept) {
      if (kept) return;
      var q = load(QUEUE_KEY, []);
      q.push({ b: json, a: attempts, t: Date.now() + (attempts > 1 ? Math.min(3600, Math.pow(2, attempts - 1)) * 1000 : 0) });
      save(QUEUE_KEY, q.slice(-MAX_QUEUED));
    });
  }
  // A domainprint's shape; the edge verifies its signature (a changed copy is ignored).
  var DP_SHAPE = /^[A-Za-z0-9_.-]{1,128}$/;
  // Sends one body: resolves true when stored, false when queued or refused.
  function send(json, attempts) {
    if (!w.fetch) {
      var ok = !!(n.sendBeacon && n.sendBeacon(endpoint, json));
      if (!ok) enqueue(json, attempts + 1);
      return Promise.resolve(ok);
    }
    return w.fetch(endpoint, {
      method: "POST", body: json, keepalive: json.length < 60000, credentials: identifying() ? "include" : "omit", mode: "cors",
      headers: { "Content-Type": "text/plain" }
    }).then(function (r) {
      if (r.ok) {
        // The signed domainprint of the answer: kept, and sent where the cookie is not.
        r.json().then(function (j) {
          var dp = j && j.identity && j.identity.domainprint;
          if (typeof dp === "string" && DP_SHAPE.test(dp)) save(DP_KEY, dp);
        }, function () {});
        return true;
      }
      // 408, 429 and 5xx may pass later; any other answer never will.
      if (r.status >= 500 || r.status === 429 || r.status === 408) return enqueue(json, attempts + 1).then(function () { return false; });
      return false;
    }, function () { return enqueue(json, attempts + 1).then(function () { return false; }); });
  }
  // Sends what is due from the queue, with this page's token where an event was queued
  // without one (the edge was away when its page loaded).
  function flush() {
    if (!identifying()) return;
    toWorker({ impressio: "flush" });
    var q = load(QUEUE_KEY, []), now = Date.now(), due = [], later = [];
    if (!q.length) return;
    q.forEach(function (e) { (e.t <= now ? due : later).push(e); });
    save(QUEUE_KEY, later);
    due.forEach(function (e) {
      var o = token && attempt(function () { return JSON.parse(e.b); }, null);
      send(o && !o.token ? (o.token = token, JSON.stringify(o)) : e.b, e.a);
    });
  }

  // The cached bundle carries no token: /cookie-test hands out a fresh one (never cached)
  // and says whether the test cookie of an earlier page came back, i.e. whether first-party
  // cookies persist here (null on the first page, or when the last test is over a day old).
  var cookies = null, session = null, info = null;
  function startSession() { return session || (session = new Promise(function (resolve) {
    if (!w.fetch) return resolve(null);
    setTimeout(resolve, 2000);
    w.fetch(new URL("cookie-test" + query, base).href, { credentials: "include", cache: "no-store", mode: "cors" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j) return resolve(null);
        var last = load(COOKIE_TEST_KEY, 0);
        cookies = j.previousCookieReturned ? true : last && Date.now() - last < 86400000 ? false : null;
        save(COOKIE_TEST_KEY, Date.now());
        token = j.token || null;
        resolve(j);
      }, function () { resolve(null); });
  })); }
  // What identifies the visitor, measured once and only with fraud consent; null without.
  function identity() {
    if (!identifying()) return Promise.resolve(null);
    return info || (info = Promise.all([collect(), startSession()]).then(function (r) { return r[0]; }));
  }
  function track(name, properties) {
    if (!consent && WAIT && waiting >= MAX_WAITING) return Promise.resolve(false);
    if (!consent && WAIT) waiting++;
    var at = Date.now(), href = w.location.href;
    return gate.then(identity).then(function (fp) {
      var body = {
        organizationId: ORG, event: name || "page_view", url: href, timestamp: at,
        messageId: messageId()
      };
      if (consent) body.consent = consent;
      if (d.referrer) body.referrer = d.referrer;
      if (d.title) body.title = d.title.slice(0, 512);
      var props = properties && typeof properties === "object" ? properties : {};
      for (var p in props) { if (Object.prototype.hasOwnProperty.call(props, p)) { body.properties = props; break; } }
      if (!fp) return send(JSON.stringify(body), 0);
      body.fingerprint = fp.fingerprint;
      body.components = fp.components;
      body.signals = {
        webdriver: !!n.webdriver, plugins: n.plugins ? n.plugins.length : 0,
        languages: fp.components.languages, platform: (n.platform || "").slice(0, 64),
        webrtcCandidates: fp.candidates
      };
      if (userId) body.userId = userId;
      if (token) body.token = token;
      var dp = load(DP_KEY, null);
      if (typeof dp === "string" && DP_SHAPE.test(dp)) body.domainprint = dp;
      if (cookies !== null) body.signals.firstPartyCookies = cookies;
      // The page's W3C CEDDL data layer, as JSON (functions and cycles dropped), within 8 KB.
      if (DIGITAL_DATA && w.digitalData && typeof w.digitalData === "object") {
        var dd = attempt(function () { return JSON.stringify(w.digitalData); }, null);
        if (dd && dd.length <= MAX_DIGITAL_DATA && dd.charAt(0) === "{") body.digitalData = JSON.parse(dd);
      }
      var cid = gaClientId();
      if (cid) body.clientId = cid;
      var b = behavior(fp.components);
      if (b) {
        body.signals.interaction = b.evidence;
        if (b.signature) body.behavioralSignature = b.signature;
      }
      return send(JSON.stringify(body), 0);
    });
  }
  w.impressio = {
    loaded: true,
    track: track,
    identify: function (id) { userId = id == null ? null : String(id); },
    // The visitor's consent: {analytics, fraud, adUserData, adPersonalization} (booleans).
    // Opens the wait of data-consent="wait"; applies to every event sent from now on.
    consent: function (c) {
      consent = normalize(c);
      if (openGate) { openGate(); openGate = null; }
      if (identifying()) startSession().then(flush);
      return consent;
    },
    ready: null
  };
  w.addEventListener("online", flush);
  gate.then(function () { if (identifying()) startSession().then(flush); });
  w.impressio.ready = track("page_view").then(function (sent) {
    return identity().then(function (fp) { return { fingerprint: fp ? fp.fingerprint : null, sent: sent }; });
  });
})(window, document, navigator);
