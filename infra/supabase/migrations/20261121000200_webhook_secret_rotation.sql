-- Webhook secret rotation: while `webhook_secret_previous` is set, the processor signs every
-- delivery with both secrets (`webhook-signature` lists one signature per secret), so the
-- receiver can switch to the new secret at its own pace; clear the column to finish.

alter table public.organizations
    add column if not exists webhook_secret_previous text;
