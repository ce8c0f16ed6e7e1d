#!/usr/bin/env python3
"""Verifies webhook deliveries with the reference Standard Webhooks library (PyPI
`standardwebhooks`), independently of our own code.

Input (a JSON file, the first argument): {"secrets": ["whsec_current", "whsec_previous", ...],
"deliveries": [{"headers": {name: value}, "body": "<exact body>"}, ...]}.

For each delivery: the library's Webhook(secret).verify(body, headers) must pass for every
secret (a rotation lists one signature per secret), the same with a tampered body must fail,
and X-Impressio-Signature must be the lowercase hex HMAC-SHA256 of the body under the key the
library derives from the first (current) secret. Prints a JSON summary; exits 1 on any failure.
"""
import hashlib
import hmac
import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main(path):
    spec = json.load(open(path))
    secrets, deliveries = spec["secrets"], spec["deliveries"]
    failures, verified = [], 0
    for i, d in enumerate(deliveries):
        headers, body = d["headers"], d["body"]
        for s in secrets:
            hook = Webhook(s)
            try:
                hook.verify(body, headers)
                verified += 1
            except WebhookVerificationError as e:
                failures.append(f"delivery {i}: secret #{secrets.index(s)}: {e}")
            try:
                hook.verify(body + " ", headers)
                failures.append(f"delivery {i}: a tampered body verified")
            except WebhookVerificationError:
                pass
        key = Webhook(secrets[0])._whsecret
        expected = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
        lower = {k.lower(): v for k, v in headers.items()}
        if lower.get("x-impressio-signature") != expected:
            failures.append(f"delivery {i}: X-Impressio-Signature is not the hex HMAC under the whsec_ key")
    print(json.dumps({"deliveries": len(deliveries), "signatures_verified": verified, "failures": failures}))
    return 1 if failures or not deliveries else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
