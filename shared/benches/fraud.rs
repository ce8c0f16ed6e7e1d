//! All eight layers, the bot User-Agent check and the composite, per request, on a realistic
//! Chrome request as CloudFront forwards it (gathering the input included; regexes compiled
//! once, before the measurement).
//!
//! `cargo bench -p impressio --bench fraud`

use criterion::{criterion_group, criterion_main, Criterion};
use impressio::fraud::{assess, ClientSignals, FraudConfig, ScoringInput};
use impressio::http::{EdgeRequest, RequestSource};

fn request(ua: &str, ja4: &str) -> EdgeRequest {
    let mut h = http::HeaderMap::new();
    for (k, v) in [
        ("host", "t.shop.example"),
        ("sec-ch-ua", "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""),
        ("sec-ch-ua-mobile", "?0"),
        ("sec-ch-ua-platform", "\"Windows\""),
        ("user-agent", ua),
        ("accept", "*/*"),
        ("origin", "https://shop.example"),
        ("sec-fetch-site", "same-site"),
        ("sec-fetch-mode", "cors"),
        ("referer", "https://shop.example/products/42"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("accept-language", "en-US,en;q=0.9"),
        ("cookie", "_impdp=dp0123456789abcdef0123456789abcdef"),
        ("cloudfront-viewer-ja4-fingerprint", ja4),
        ("cloudfront-viewer-tls", "TLSv1.3:TLS_AES_128_GCM_SHA256:fullHandshake"),
        ("cloudfront-viewer-http-version", "2.0"),
        ("cloudfront-viewer-address", "198.51.100.23:52144"),
        ("cloudfront-viewer-asn", "7922"),
        ("cloudfront-viewer-country", "US"),
        ("cloudfront-viewer-latitude", "47.60620"),
        ("cloudfront-viewer-longitude", "-122.33210"),
        ("cloudfront-viewer-header-order", "host:sec-ch-ua:sec-ch-ua-mobile:sec-ch-ua-platform:user-agent:accept:origin:sec-fetch-site:sec-fetch-mode:referer:accept-encoding:accept-language:cookie"),
        ("cloudfront-viewer-header-count", "13"),
    ] {
        h.insert(http::HeaderName::from_static(k), v.parse().unwrap());
    }
    EdgeRequest::new(
        RequestSource::CloudFront,
        http::Method::POST,
        "/t",
        "",
        h,
        vec![],
        false,
        None,
        None,
    )
}

fn bench(c: &mut Criterion) {
    let config = FraudConfig::default();
    let signals = ClientSignals {
        webdriver: Some(false),
        plugins: Some(5),
        languages: Some(vec!["en-US".into(), "en".into()]),
        platform: Some("Win32".into()),
        webrtc_candidates: Some(vec![
            "candidate:1 1 udp 2122260223 0c1a2b3c-aaaa.local 56143 typ host".into(),
            "candidate:2 1 udp 1686052607 198.51.100.23 56143 typ srflx raddr 0.0.0.0 rport 0".into(),
        ]),
        first_party_cookies: Some(true),
        interaction: Some(impressio::fraud::input::InteractionEvidence {
            pointer_moves: 120,
            pointer_distance_px: 1800,
            pointer_straightness: Some(0.7),
            keystrokes: 16,
            key_interval_mean_ms: Some(190.0),
            key_interval_sd_ms: Some(60.0),
            key_hold_mean_ms: Some(95.0),
            first_interaction_ms: Some(800),
            active_ms: 9000,
            ..Default::default()
        }),
    };
    let chrome = request(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "t13d1516h2_8daaf6152771_02713d6af862",
    );
    let bot = request(
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "t13d181000_85036bcba153_d41ae481755e",
    );
    // curl's TLS stack (measured through the local CloudFront) under a Chrome User-Agent: every
    // family profile check runs and finds contradictions.
    let curl_as_chrome = request(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36",
        "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6",
    );
    // Compile the patterns before measuring.
    let _ = assess(&ScoringInput::from_request(&bot, None, None), &config);
    c.bench_function("fraud: input + 8 layers + bot UA + composite (Chrome)", |b| {
        b.iter(|| {
            let input =
                ScoringInput::from_request(std::hint::black_box(&chrome), Some(signals.clone()), Some("page_view"));
            assess(&input, &config)
        })
    });
    c.bench_function("fraud: input + 8 layers + bot UA + composite (crawler)", |b| {
        b.iter(|| {
            let input = ScoringInput::from_request(std::hint::black_box(&bot), None, Some("page_view"));
            assess(&input, &config)
        })
    });
    c.bench_function("fraud: input + 8 layers + bot UA + composite (curl as Chrome)", |b| {
        b.iter(|| {
            let input = ScoringInput::from_request(std::hint::black_box(&curl_as_chrome), None, Some("page_view"));
            assess(&input, &config)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
