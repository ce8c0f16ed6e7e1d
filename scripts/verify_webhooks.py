#!/usr/bin/env python3
"""Verifies webhook deliveries with the reference Standard Webhooks library (PyPI
`standardwebhooks`), independently of our own code.

Input: a JSON file {"secrets": ["whsec_current", "whsec_previous", ...], "deliveries":
[{"headers": {name: value}, "body": "<exact body>"}, ...]}; or, with `--organizations FILE`, a
JSON-lines file of {"organization", "headers", "body"} (what `local-receivers
--record-webhooks` writes), each delivery checked under its organization's secrets
(`webhook_secret`, then `webhook_secret_previous`) as FILE (infra/organizations/local.json)
gives them.

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


def load(args):
    if args[0] == "--organizations":
        orgs = {o["id"]: o.get("integrations") or {} for o in json.load(open(args[1]))}
        deliveries = [json.loads(line) for line in open(args[2]) if line.strip()]
        for d in deliveries:
            i = orgs[d["organization"]]
            d["secrets"] = [s for s in (i.get("webhook_secret"), i.get("webhook_secret_previous")) if s]
        return deliveries
    spec = json.load(open(args[0]))
    return [dict(d, secrets=spec["secrets"]) for d in spec["deliveries"]]


def main(args):
    deliveries = load(args)
    failures, verified = [], 0
    for i, d in enumerate(deliveries):
        headers, body, secrets = d["headers"], d["body"], d["secrets"]
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
    sys.exit(main(sys.argv[1:]))
