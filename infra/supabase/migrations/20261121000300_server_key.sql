-- Server-side events (enterprise plan): an organization's own servers send events to `/t` with
-- `Authorization: Bearer <server key>`. Only the key's SHA-256 is stored, as 64 lowercase hex
-- digits; the edge hashes the presented key and compares the digests in constant time. Compute
-- the digest where the key is made, so the key never reaches the database or its logs:
--   key=$(openssl rand -hex 32); printf %s "$key" | sha256sum
-- then `update organizations set server_key_sha256 = '<digest>' where id = '<org>'`. Null means
-- the organization has no server key: every server-side call is refused.

alter table public.organizations
    add column if not exists server_key_sha256 text
        constraint organizations_server_key_sha256_hex check (server_key_sha256 ~ '^[0-9a-f]{64}$');
