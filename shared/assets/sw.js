/*! Impressio service worker v1 */
// Imported by the organization's own first-party service worker (importScripts). It keeps
// the events a page could not deliver in IndexedDB and sends them: at once, then with a
// doubling pause (1 s … 64 s) while the worker lives, on every page's "flush", and through
// Background Sync where the browser has it (which also runs after the pages are closed).
// It registers no fetch handler, so the site's own requests never pass through it.
(function (self) {
  "use strict";
  var ORG = __ORG__;
  var DB = "impressio", STORE = "queue", MAX_QUEUED = 200, MAX_BYTES = 16384, TAG = "impressio-queue";
  var SUFFIX = "/t?organizationId=" + encodeURIComponent(ORG);
  function open() {
    return new Promise(function (resolve, reject) {
      var r = self.indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { autoIncrement: true }); };
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }
  // Runs f(store) in one transaction; resolves with what f's request (if any) produced.
  function tx(mode, f) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), req = f(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(req ? req.result : undefined); };
        t.onerror = t.onabort = function () { db.close(); reject(t.error); };
      });
    });
  }
  // Keeps the newest MAX_QUEUED events.
  function put(item) {
    return tx("readwrite", function (s) {
      s.add(item);
      var keys = s.getAllKeys();
      keys.onsuccess = function () {
        var extra = keys.result.length - MAX_QUEUED, i;
        for (i = 0; i < extra; i++) s.delete(keys.result[i]);
      };
      return null;
    });
  }
  function entries() {
    var list = [];
    return tx("readonly", function (s) {
      var c = s.openCursor();
      c.onsuccess = function () {
        if (c.result) { list.push({ key: c.result.key, item: c.result.value }); c.result.continue(); }
      };
      return null;
    }).then(function () { return list; });
  }
  function remove(key) { return tx("readwrite", function (s) { return s.delete(key); }); }
  // One pass in queue order: true when the queue is empty, false when the edge is still away
  // (a network error, 408, 429 or 5xx). Any other answer is final, and the event is dropped.
  function deliver() {
    return entries().then(function (list) {
      var i = 0;
      function next() {
        if (i >= list.length) return true;
        var e = list[i++];
        return self.fetch(e.item.endpoint, {
          method: "POST", body: e.item.body, credentials: "include", mode: "cors",
          headers: { "Content-Type": "text/plain" }
        }).then(function (r) {
          if (r.status >= 500 || r.status === 429 || r.status === 408) return false;
          return remove(e.key).then(next);
        }, function () { return false; });
      }
      return next();
    });
  }
  var running = null;
  function drain() {
    if (running) return running;
    var pause = 1000;
    function loop() {
      return deliver().then(function (done) {
        if (done || pause > 64000) return done;
        return new Promise(function (r) { setTimeout(r, pause); }).then(function () { pause *= 2; return loop(); });
      });
    }
    running = loop().then(function (done) {
      running = null;
      if (!done && self.registration.sync) return self.registration.sync.register(TAG).then(function () { return false; }, function () { return false; });
      return done;
    }, function () { running = null; return false; });
    return running;
  }
  self.addEventListener("install", function () { self.skipWaiting(); });
  self.addEventListener("message", function (e) {
    var m = e.data || {}, port = e.ports && e.ports[0];
    function answer(stored) { if (port) port.postMessage({ stored: stored }); }
    if (m.impressio === "queue") {
      // Only our organization's event endpoint, and bodies within the page queue's bound.
      var ok = typeof m.body === "string" && m.body.length <= MAX_BYTES && typeof m.endpoint === "string" &&
        m.endpoint.slice(-SUFFIX.length) === SUFFIX && /^https?:\/\//.test(m.endpoint);
      if (!ok) return answer(false);
      e.waitUntil(put({ endpoint: m.endpoint, body: m.body, t: Date.now() })
        .then(function () { answer(true); return drain(); }, function () { answer(false); }));
    } else if (m.impressio === "flush") {
      e.waitUntil(drain());
    }
  });
  self.addEventListener("sync", function (e) {
    if (e.tag !== TAG) return;
    // A rejected sync is tried again later by the browser.
    e.waitUntil(deliver().then(function (done) { if (!done) throw new Error("impressio: the edge is still away"); }));
  });
})(self);
