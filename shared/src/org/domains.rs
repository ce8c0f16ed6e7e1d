//! Which requests an organization's domains cover.
//!
//! Rule: a registered domain `shop.example` covers the host `shop.example` and every
//! subdomain of it (`www.shop.example`, `t.eu.shop.example`), never a look-alike
//! (`myshop.example`, `shop.example.evil.test`). Registered domains are compared lowercase,
//! without scheme, port, path or a trailing dot. Only the first N registered domains count,
//! N being the plan's domain limit. The host is taken from `Origin`, else from `Referer`;
//! `Origin: null` (sandboxed frames, `file:` pages) names no host.

/// The host of a request: from the `Origin` header, else from `Referer`; lowercase.
pub fn request_host(origin: Option<&str>, referer: Option<&str>) -> Option<String> {
    origin
        .filter(|o| *o != "null")
        .and_then(host_of)
        .or_else(|| referer.and_then(host_of))
}

fn host_of(u: &str) -> Option<String> {
    url::Url::parse(u)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_end_matches('.').to_ascii_lowercase()))
        .filter(|h| !h.is_empty())
}

/// A registered domain in comparable form: lowercase, no scheme, port, path or trailing dot.
pub fn normalize(domain: &str) -> String {
    let d = domain.trim().to_ascii_lowercase();
    let d = d.split("://").last().unwrap_or("");
    let d = d.split(['/', '?', '#']).next().unwrap_or("");
    let d = d.rsplit_once(':').map_or(
        d,
        |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { d },
    );
    d.trim_end_matches('.').to_string()
}

/// Whether `host` is covered by one of the first `limit` domains (`None`: all of them).
pub fn is_allowed(host: &str, domains: &[String], limit: Option<u32>) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let honored = limit.map_or(domains.len(), |n| domains.len().min(n as usize));
    domains[..honored].iter().any(|d| {
        let d = normalize(d);
        !d.is_empty() && (host == d || host.strip_suffix(&d).is_some_and(|rest| rest.ends_with('.')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doms(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_and_subdomains_but_not_lookalikes() {
        let d = doms(&["Shop.Example"]);
        assert!(is_allowed("shop.example", &d, None));
        assert!(is_allowed("www.shop.example", &d, None));
        assert!(is_allowed("t.eu.shop.example.", &d, None));
        assert!(!is_allowed("myshop.example", &d, None));
        assert!(!is_allowed("shop.example.evil.test", &d, None));
        assert!(!is_allowed("example", &d, None));
    }

    #[test]
    fn only_the_plans_number_of_domains_is_honored() {
        let d = doms(&["a.example", "b.example", "c.example"]);
        assert!(is_allowed("a.example", &d, Some(1)));
        assert!(!is_allowed("b.example", &d, Some(1)));
        assert!(is_allowed("c.example", &d, Some(3)));
        assert!(is_allowed("c.example", &d, None));
    }

    #[test]
    fn host_from_origin_then_referer() {
        assert_eq!(
            request_host(Some("https://Shop.Example:8443"), None).as_deref(),
            Some("shop.example")
        );
        assert_eq!(
            request_host(Some("null"), Some("https://blog.example/post?x=1")).as_deref(),
            Some("blog.example")
        );
        assert_eq!(request_host(None, None), None);
        assert_eq!(request_host(Some("garbage"), None), None);
        assert_eq!(normalize("https://www.Shop.example:443/path"), "www.shop.example");
    }
}
