-- The Server API (`/v1/`, every plan): an organization's backend reads its events and visitors
-- with `Authorization: Bearer <organization id>.<secret>`. As for the server key, only the
-- key's SHA-256 is stored (64 lowercase hex digits of the whole key, organization id
-- included); the edge compares digests in constant time. Make the key where it is used:
--   key="<org>.$(openssl rand -hex 32)"; printf %s "$key" | sha256sum
-- Rotation: move the digest in use to api_key_previous_sha256, set the new one; both keys are
-- accepted until the previous digest is set to null.

alter table public.organizations
    add column if not exists api_key_sha256 text
        constraint organizations_api_key_sha256_hex check (api_key_sha256 ~ '^[0-9a-f]{64}$'),
    add column if not exists api_key_previous_sha256 text
        constraint organizations_api_key_previous_sha256_hex check (api_key_previous_sha256 ~ '^[0-9a-f]{64}$');

-- Privacy settings. retention_days: how long the organization's data is kept (every item's
-- DynamoDB TTL), 1-3650 days, null = the deployment's default; the plan's ceiling applies
-- (free and starter 90, pro 395, enterprise 730). ip_storage: how events keep the visitor's
-- address: 'full', 'truncated' (IPv4 /24, IPv6 /48) or 'hashed' (keyed hash); scoring always
-- uses the full address in memory only.
alter table public.organizations
    add column if not exists retention_days integer
        constraint organizations_retention_days_range check (retention_days between 1 and 3650),
    add column if not exists ip_storage text not null default 'full'
        constraint organizations_ip_storage_kind check (ip_storage in ('full', 'truncated', 'hashed'));
