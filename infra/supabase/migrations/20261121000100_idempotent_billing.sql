-- Idempotent billing for the stream processor: it counts a batch's events per organization
-- in one call, with an idempotency key, so a retried batch never bills twice. The ledger
-- remembers every key applied (kept 90 days by `prune_billing_ledger`).

create table if not exists public.billing_ledger (
    idempotency_key text primary key check (length(idempotency_key) between 1 and 200),
    org_id          text not null references public.organizations (id) on delete cascade,
    amount          integer not null check (amount > 0),
    applied_at      timestamptz not null default now()
);

alter table public.billing_ledger enable row level security;

-- The one-argument version is replaced: with defaults, two versions would make a call by
-- name ambiguous.
drop function if exists public.increment_events_this_month(text);

-- Counts `amount` events for an organization, atomically, and returns the count. A call in a
-- new UTC month starts again from `amount`. With an `idempotency_key` already applied,
-- nothing changes and the current count is returned. Raises P0002 (no_data_found) for an
-- unknown organization and 22023 (invalid_parameter_value) for an amount below 1.
create or replace function public.increment_events_this_month(
    org_uuid        text,
    amount          integer default 1,
    idempotency_key text default null
)
returns bigint
language plpgsql
set search_path = public
as $$
declare
    month_start date := date_trunc('month', timezone('utc', now()))::date;
    new_count   bigint;
    inserted    integer;
begin
    if amount is null or amount < 1 then
        raise exception 'amount must be at least 1' using errcode = '22023';
    end if;
    if idempotency_key is not null then
        insert into public.billing_ledger (idempotency_key, org_id, amount)
        select idempotency_key, o.id, amount from public.organizations o where o.id = org_uuid
        on conflict on constraint billing_ledger_pkey do nothing;
        get diagnostics inserted = row_count;
        if inserted = 0 then
            -- Applied before (or an unknown organization): change nothing.
            select case when billing_period_start < month_start then 0 else events_this_month end
              into new_count
              from public.organizations where id = org_uuid;
            if not found then
                raise exception 'unknown organization %', org_uuid using errcode = 'P0002';
            end if;
            return new_count;
        end if;
    end if;
    update public.organizations
       set events_this_month = case when billing_period_start < month_start
                                    then amount else events_this_month + amount end,
           billing_period_start = greatest(billing_period_start, month_start),
           updated_at = now()
     where id = org_uuid
    returning events_this_month into new_count;
    if not found then
        raise exception 'unknown organization %', org_uuid using errcode = 'P0002';
    end if;
    return new_count;
end;
$$;

-- Drops ledger keys older than `keep` (default 90 days); returns how many.
create or replace function public.prune_billing_ledger(keep interval default interval '90 days')
returns bigint
language sql
set search_path = public
as $$
    with gone as (delete from public.billing_ledger where applied_at < now() - keep returning 1)
    select count(*) from gone;
$$;

revoke all on function public.increment_events_this_month(text, integer, text) from public;
revoke all on function public.prune_billing_ledger(interval) from public;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant select, insert on public.billing_ledger to service_role;
        grant execute on function public.increment_events_this_month(text, integer, text) to service_role;
        grant execute on function public.prune_billing_ledger(interval) to service_role;
    end if;
end;
$$;
