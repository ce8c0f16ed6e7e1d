-- Webhook secrets are Standard Webhooks secrets: `whsec_` followed by the base64 (standard
-- alphabet, `=` padding optional) of 24 to 64 random bytes, the form every Standard Webhooks
-- library verifies. A raw or hex secret would make receivers derive another key (the
-- libraries base64-decode any secret), so the table refuses one when it is written; the
-- processor refuses one it still reads (a row written before this migration) and records why
-- on each event instead of delivering.
-- Base64 of 24 bytes is 32 characters, of 64 bytes 88 (86 without padding).
--
-- Existing rows are not checked here (NOT VALID): fix them, then
-- `alter table organizations validate constraint organizations_webhook_secret_format;`.

alter table public.organizations
    add constraint organizations_webhook_secret_format check (
        webhook_secret is null
        or webhook_secret = ''
        or webhook_secret ~ '^whsec_[A-Za-z0-9+/]{32,86}={0,2}$'
    ) not valid,
    add constraint organizations_webhook_secret_previous_format check (
        webhook_secret_previous is null
        or webhook_secret_previous = ''
        or webhook_secret_previous ~ '^whsec_[A-Za-z0-9+/]{32,86}={0,2}$'
    ) not valid;
