//! The collector scripts: `/h.js` for every plan, and `/h-pro.js` (pro and up), the same
//! collector with the behavioral bundle.
//!
//! The collector sends a `page_view` on load and exposes `window.impressio.track(name,
//! properties)` and `window.impressio.identify(userId)`. It posts `/t?organizationId=…`
//! events as `text/plain` JSON (a CORS-safelisted request: no preflight) in `cors` mode with
//! credentials and `keepalive`, falling back to `navigator.sendBeacon`. The endpoint is
//! derived from the script's own URL, so the same script works behind CloudFront and under
//! `cargo lambda watch`'s `/lambda-url/<fn>/` prefix.
//!
//! The behavioral bundle counts pointer movement (and its path length in px), keystrokes and
//! the intervals between them (never which keys), scrolls, touches and focus changes, and
//! sends the running summary as `properties.behavior` with every event.

/// The collector script for `organization_id` (already validated as a token, so it is safe
/// inside a JavaScript string literal); `behavioral` adds the behavioral bundle; `token` is
/// the signed collector token the script sends with its events.
pub fn collector_script(organization_id: &str, behavioral: bool, token: Option<&str>) -> String {
    let org = serde_json::to_string(organization_id).unwrap_or_else(|_| "\"\"".to_string());
    let token = token
        .and_then(|t| serde_json::to_string(t).ok())
        .unwrap_or_else(|| "null".to_string());
    let behavior = if behavioral { BEHAVIORAL } else { NO_BEHAVIOR };
    SCRIPT
        .replace("__ORG__", &org)
        .replace("__TOKEN__", &token)
        .replace("/*__BEHAVIOR__*/", behavior)
}

const NO_BEHAVIOR: &str = "function behavior() { return null; }";

const BEHAVIORAL: &str = r#"var B = { moves: 0, dist: 0, keys: 0, gaps: [], scrolls: 0, touches: 0, focus: 0, x: null, y: null, lastKey: 0, start: Date.now() };
  w.addEventListener("pointermove", function (e) {
    B.moves++;
    if (B.x !== null) B.dist += Math.sqrt((e.clientX - B.x) * (e.clientX - B.x) + (e.clientY - B.y) * (e.clientY - B.y));
    B.x = e.clientX; B.y = e.clientY;
  }, { passive: true });
  w.addEventListener("keydown", function () {
    var t = Date.now();
    if (B.lastKey && B.gaps.length < 200) B.gaps.push(t - B.lastKey);
    B.lastKey = t; B.keys++;
  }, { passive: true, capture: true });
  w.addEventListener("scroll", function () { B.scrolls++; }, { passive: true });
  w.addEventListener("touchstart", function () { B.touches++; }, { passive: true });
  w.addEventListener("focus", function () { B.focus++; });
  w.addEventListener("blur", function () { B.focus++; });
  function behavior() {
    var n = B.gaps.length, mean = 0, sd = 0, i;
    for (i = 0; i < n; i++) mean += B.gaps[i];
    mean = n ? mean / n : 0;
    for (i = 0; i < n; i++) sd += (B.gaps[i] - mean) * (B.gaps[i] - mean);
    sd = n > 1 ? Math.sqrt(sd / (n - 1)) : 0;
    return {
      pointer_moves: B.moves, pointer_distance_px: Math.round(B.dist), keystrokes: B.keys,
      key_interval_mean_ms: Math.round(mean), key_interval_sd_ms: Math.round(sd),
      scrolls: B.scrolls, touches: B.touches, focus_changes: B.focus, active_ms: Date.now() - B.start
    };
  }"#;

const SCRIPT: &str = r#"/*! Impressio collector v1 */
(function (w, d, n) {
  "use strict";
  if (w.impressio && w.impressio.loaded) return;
  var ORG = __ORG__;
  var TOKEN = __TOKEN__;
  var cs = d.currentScript;
  var base = new URL(".", cs && cs.src ? cs.src : w.location.href);
  var endpoint = new URL("t?organizationId=" + encodeURIComponent(ORG), base).href;
  var userId = null;
  /*__BEHAVIOR__*/
  function gaClientId() {
    var m = d.cookie.match(/(?:^|;\s*)_ga=GA\d+\.\d+\.(\d+\.\d+)/);
    return m ? m[1] : undefined;
  }
  function track(name, properties) {
    var body = {
      organizationId: ORG,
      event: name || "page_view",
      url: w.location.href,
      timestamp: Date.now()
    };
    if (d.referrer) body.referrer = d.referrer;
    if (d.title) body.title = d.title.slice(0, 512);
    if (userId) body.userId = userId;
    if (TOKEN) body.token = TOKEN;
    var cid = gaClientId();
    if (cid) body.clientId = cid;
    var props = properties && typeof properties === "object" ? properties : {};
    var b = behavior();
    if (b) props.behavior = b;
    for (var k in props) { if (Object.prototype.hasOwnProperty.call(props, k)) { body.properties = props; break; } }
    var json = JSON.stringify(body);
    function beacon() { return !!(n.sendBeacon && n.sendBeacon(endpoint, json)); }
    if (!w.fetch) return Promise.resolve(beacon());
    return w.fetch(endpoint, {
      method: "POST", body: json, keepalive: true, credentials: "include", mode: "cors",
      headers: { "Content-Type": "text/plain" }
    }).then(function (r) { return r.ok; }, beacon);
  }
  w.impressio = {
    loaded: true,
    track: track,
    identify: function (id) { userId = id == null ? null : String(id); }
  };
  track("page_view");
})(window, document, navigator);
"#;

#[cfg(test)]
mod tests {
    use super::collector_script;

    #[test]
    fn embeds_the_organization_and_the_bundle_it_was_asked_for() {
        let s = collector_script("org_demo", false, Some("v1.org_demo.1.ab.sig"));
        assert!(s.contains(r#"var TOKEN = "v1.org_demo.1.ab.sig";"#));
        assert!(s.contains(r#"var ORG = "org_demo";"#));
        assert!(s.contains("function behavior() { return null; }"));
        assert!(!s.contains("__ORG__") && !s.contains("__BEHAVIOR__"));
        let pro = collector_script("org_demo", true, None);
        assert!(pro.contains("var TOKEN = null;"));
        assert!(pro.contains("key_interval_mean_ms"));
        assert!(!pro.contains("return null;"));
    }
}
