#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/seeds/<target>/) from the project's own samples:
the Lambda events of events/, the bodies and query strings inside them, the JA4 strings of
shared/data, the Standard Webhooks vectors, and a few hostile shapes the tests send. Run it
again after adding samples; libFuzzer grows its working corpus from these (under target/)."""
import base64, csv, json, os, pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"


def put(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def main():
    cf_dir, fu_dir = ROOT / "events/edge/cloudfront", ROOT / "events/edge/function-url"
    for f in sorted(cf_dir.glob("*.json")):
        raw = f.read_bytes()
        put("cloudfront_event", f.name, raw)
        req = json.loads(raw)["Records"][0]["cf"]["request"]
        if req.get("querystring"):
            put("pixel_query", f.stem, req["querystring"])
        body = req.get("body") or {}
        if body.get("data"):
            data = base64.b64decode(body["data"]) if body.get("encoding", "base64") == "base64" else body["data"].encode()
            put("track_payload", f.stem, data)
        lines = [f'{k}: {v[0]["value"]}' for k, v in req.get("headers", {}).items()]
        put("viewer_headers", f.stem, "\n".join(lines))
    for f in sorted(fu_dir.glob("*.json")):
        raw = f.read_bytes()
        put("function_url_event", f.name, raw)
        ev = json.loads(raw)
        if ev.get("rawQueryString"):
            put("pixel_query", "fu-" + f.stem, ev["rawQueryString"])
    for f in sorted((ROOT / "events/processor").glob("*.json")):
        put("stream_record", f.name, f.read_bytes())
    with open(ROOT / "shared/data/ja4/sample-ja4.csv") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            put("ja4", f"sample-{i}", row["ja4"].strip())
    put("ja4", "chromium-156", "t13d1517h2_8daaf6152771_cb7bf5808d99")
    vectors = json.loads((ROOT / "shared/data/webhooks/standard-webhooks-vectors.json").read_text())["vectors"]
    for i, v in enumerate(vectors):
        put("webhook_secret", f"vector-{i}", v["secret"])
    for name, s in [("raw", "local-demo-starter-webhook-secret"), ("unpadded", "whsec_" + base64.b64encode(bytes(32)).decode().rstrip("=")),
                    ("hex", "0123456789abcdef0123456789abcdef"), ("junk", "whsec_***")]:
        put("webhook_secret", name, s)
    put("collector_token", "shape", "v1.org_fuzz.1795000000000.0123456789abcdef.c2lnbmF0dXJl")
    put("collector_token", "malformed", "v1.org_fuzz..")
    put("domainprint", "signed-shape", "d1.AAAA.AZLwxH9LfD6aUTwfC24tFw.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA")
    put("domainprint", "legacy", "dp0123456789abcdef0123456789abcdef")
    hostile = {
        "deep": '{"organizationId":"o","properties":' + '{"a":' * 200 + "1" + "}" * 201,
        "numbers": '{"organizationId":"o","properties":{"a":1e200,"b":-1e300,"c":1e-131,"d":99999999999999999999999999999999}}',
        "duplicates": '{"organizationId":"o","properties":{"a":1,"a":2}}',
        "nul": '{"organizationId":"o","title":"a\\u0000b","properties":{"k\\u0000":"v"}}',
        "timestamp": '{"organizationId":"o","timestamp":18446744073709551615}',
        "campaign": '{"organizationId":"o","utm_source":"a","utm_source":"b"}',
    }
    for name, body in hostile.items():
        put("track_payload", name, body)
    put("function_url_event", "bad-base64.json", json.dumps({
        "version": "2.0", "rawPath": "/t", "rawQueryString": "", "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/t", "sourceIp": "203.0.113.9"}},
        "body": "%%% not base64", "isBase64Encoded": True}))


if __name__ == "__main__":
    main()
