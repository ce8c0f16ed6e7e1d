-- Organizations: plan, domains, the monthly usage counter and the integrations the
-- processor delivers to. Apply with `supabase db push` (this folder is a Supabase
-- migrations folder) or `psql "$DATABASE_URL" -f <this file>`. Runs on plain PostgreSQL
-- too: the Supabase roles are only granted to where they exist.

create table if not exists public.organizations (
    id                   text primary key default gen_random_uuid()::text
                         check (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    name                 text,
    plan                 text not null default 'free'
                         check (plan in ('free', 'starter', 'pro', 'enterprise')),
    -- Registered domains, oldest first: the edge honors the first N the plan allows.
    domains              text[] not null default '{}',
    -- Events counted in the month that starts on billing_period_start (UTC).
    events_this_month    bigint not null default 0 check (events_this_month >= 0),
    billing_period_start date not null default date_trunc('month', timezone('utc', now()))::date,
    ga4_measurement_id   text,
    ga4_api_secret       text,
    webhook_url          text check (webhook_url is null or webhook_url ~ '^https?://'),
    webhook_secret       text,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);

-- Only the service role (which bypasses row level security) reads organizations; the
-- public roles get nothing.
alter table public.organizations enable row level security;

-- Counts one event for an organization, atomically, and returns the new count. A call in a
-- new UTC month starts the count again at 1. Concurrent calls serialize on the row lock, so
-- none is lost. Raises P0002 (no_data_found) for an unknown organization.
create or replace function public.increment_events_this_month(org_uuid text)
returns bigint
language plpgsql
set search_path = public
as $$
declare
    month_start date := date_trunc('month', timezone('utc', now()))::date;
    new_count   bigint;
begin
    update public.organizations
       set events_this_month = case when billing_period_start < month_start
                                    then 1 else events_this_month + 1 end,
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

revoke all on function public.increment_events_this_month(text) from public;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant select, insert, update on public.organizations to service_role;
        grant execute on function public.increment_events_this_month(text) to service_role;
    end if;
    if exists (select 1 from pg_roles where rolname = 'anon') then
        revoke all on public.organizations from anon;
    end if;
    if exists (select 1 from pg_roles where rolname = 'authenticated') then
        revoke all on public.organizations from authenticated;
    end if;
end;
$$;
