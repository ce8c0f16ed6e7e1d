//! The collector script served at `/h.js`, generated per organization.
//!
//! This first version sends a `page_view` on load and exposes `window.impressio.track(name,
//! properties)` and `window.impressio.identify(userId)`; it posts `/t` events as `text/plain`
//! JSON (a CORS-safelisted request, so no preflight) with `keepalive`, falling back to
//! `navigator.sendBeacon`. The endpoint is derived from the script's own URL, so the same
//! script works behind CloudFront and under `cargo lambda watch`'s `/lambda-url/<fn>/` prefix.

/// The collector script for `organization_id` (already validated as a token, so it is safe
/// inside a JavaScript string literal).
pub fn collector_script(organization_id: &str) -> String {
    let org = serde_json::to_string(organization_id).unwrap_or_else(|_| "\"\"".to_string());
    SCRIPT.replace("__ORG__", &org)
}

const SCRIPT: &str = r#"/*! Impressio collector v1 */
(function (w, d, n) {
  "use strict";
  if (w.impressio && w.impressio.loaded) return;
  var ORG = __ORG__;
  var cs = d.currentScript;
  var base = new URL(".", cs && cs.src ? cs.src : w.location.href);
  var endpoint = new URL("t", base).href;
  var userId = null;
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
    var cid = gaClientId();
    if (cid) body.clientId = cid;
    if (properties && typeof properties === "object") body.properties = properties;
    var json = JSON.stringify(body);
    function beacon() { return !!(n.sendBeacon && n.sendBeacon(endpoint, json)); }
    if (!w.fetch) return Promise.resolve(beacon());
    return w.fetch(endpoint, {
      method: "POST", body: json, keepalive: true, credentials: "include", mode: "no-cors",
      headers: { "Content-Type": "text/plain" }
    }).then(function () { return true; }, beacon);
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
    #[test]
    fn embeds_the_organization_as_a_string_literal() {
        let s = super::collector_script("org_demo");
        assert!(s.contains(r#"var ORG = "org_demo";"#));
        assert!(!s.contains("__ORG__"));
    }
}
