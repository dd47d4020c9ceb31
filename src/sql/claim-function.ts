/*
 * The claim function's text (plpgsql), for the migrations that create it: 7 made the one that
 * orders by the claim index (priority, then age); 8 adds the pool's aging and fair share, which
 * order by what no index holds (see docs/backends.md, "across machines").
 */

const SIGNATURE = `    lim integer, scan integer, backfill boolean, reserve_after_ms float8, prefetch integer`

const RANK = `(case priority when 'critical' then 3 when 'high' then 2 when 'normal' then 1 else 0 end)`

const WAITING = `      where queue_name = q
        and (lease_owner is null or lease_expires_at < now_ms)
        and (not_before is null or not_before <= now_ms)
        and attempt < max_attempts
        and not cancel_requested`

/** The claim index's order: the fast path, and the only one before migration 8. */
const PLAIN_ORDER = `    open waiting for
      select id, cost, blocked_since from pl_queue_jobs
${WAITING}
      order by ${RANK} desc, seq
      limit scan
      for update skip locked;`

/**
 * With aging (one level per \`aging_ms\` waited, in database time since the insert) or fair share
 * (within a level, the tenant with least usage in \`pl_tenant_usage\` first), the waiting rows are
 * sorted by the effective level, the usage, then age.
 */
const POLICY_ORDER = `    if aging_ms is null and not fair then
  ${PLAIN_ORDER.replaceAll('\n', '\n  ')}
    else
      open waiting for
        select id, cost, blocked_since from pl_queue_jobs j
  ${WAITING.replaceAll('\n', '\n  ')}
        order by
          least(3, ${RANK} + case when aging_ms is null then 0
            else floor(greatest(0, now_ms - coalesce(enqueued_at, submitted_at)) / aging_ms) end) desc,
          case when fair then coalesce((select u.usage from pl_tenant_usage u where u.queue_name = q and u.tenant = j.tenant), 0)
            else 0 end,
          seq
        limit scan
        for update skip locked;
    end if;`

/** \`pl_claim_fitting\`: 'plain' as migration 7 made it, 'policy' with aging and fair share (migration 8). */
export function claimFunction(kind: 'plain' | 'policy'): string {
  const signature = kind === 'plain' ? SIGNATURE : `${SIGNATURE},\n    aging_ms float8, fair boolean`
  return `  create or replace function pl_claim_fitting(
    q text, resources text[], free float8[], whole float8[], claimer text, lease_ms float8,
${signature}
  ) returns setof pl_queue_jobs language plpgsql
  -- Statistics that call a churning queue tiny make a sequential scan look cheapest: over
  -- every dead row of the churn. The claim index is always the way (it gives the order).
  set enable_seqscan = off
  as $$
  declare
    now_ms float8 := extract(epoch from clock_timestamp()) * 1000;
    room float8[] := free;
    taken integer := 0;
    extra integer := 0;
    r record;
    claimed pl_queue_jobs;
    waiting refcursor;
    costs jsonb;
    need float8[];
    usable boolean := false;
    -- The last cost text read and what it meant: most tasks of a queue share a few costs.
    last_cost text;
    fits boolean;
    fits_here boolean;
    i integer;
  begin
${kind === 'plain' ? PLAIN_ORDER : POLICY_ORDER}
    loop
      fetch waiting into r;
      exit when not found or taken >= lim;
      -- A cost that is not an object of numbers (a row written by hand), or that needs a
      -- resource the claimer does not have, never fits here: passed over, never stopped at.
      -- (Text that is not JSON at all fails the claim, as a column of the wrong type would: the
      -- library writes JSON; an exception block here would cost a subtransaction per row.)
      if r.cost is distinct from last_cost then
        last_cost := r.cost;
        costs := r.cost::jsonb;
        -- Simple expressions only on the common path (plpgsql evaluates them without a query).
        usable := jsonb_typeof(costs) = 'object';
        if usable then
          need := array_fill(0::float8, array[cardinality(resources)]);
          for i in 1 .. cardinality(resources) loop
            if costs ? resources[i] then
              if jsonb_typeof(costs -> resources[i]) <> 'number' then usable := false; exit; end if;
              need[i] := (costs ->> resources[i])::float8;
            end if;
          end loop;
          -- Keys beyond the claimer's resources: fine if zero, else it never fits here.
          if usable and costs - resources <> '{}'::jsonb then
            usable := not exists (
              select 1 from jsonb_each(costs - resources) as e
              -- CASE: SQL does not promise to evaluate OR from the left, and the cast needs a number.
              where case when jsonb_typeof(e.value) <> 'number' then true else e.value::text::float8 <> 0 end);
          end if;
        end if;
      end if;
      continue when not usable;
      fits := true;
      fits_here := true;
      for i in 1 .. cardinality(resources) loop
        if need[i] > room[i] then fits := false; end if;
        if whole is not null and need[i] > whole[i] then fits_here := false; end if;
      end loop;
      if fits or (fits_here and extra < prefetch) then
        if fits then
          for i in 1 .. cardinality(resources) loop room[i] := room[i] - need[i]; end loop;
        else
          -- Prefetch: it fits the claimer's capacity, so it waits in its lot, in order.
          extra := extra + 1;
        end if;
        taken := taken + 1;
        update pl_queue_jobs
        set attempt = attempt + 1, lease_owner = claimer, lease_expires_at = now_ms + lease_ms, not_before = null, blocked_since = null
        where current of waiting
        returning * into claimed;
        return next claimed;
      else
        if r.blocked_since is null then
          update pl_queue_jobs set blocked_since = now_ms where current of waiting;
        end if;
        -- Head-of-line stops here (unless this claimer can never run it); so does a reservation.
        -- A claimer that can never run it passes over it, reserved or not.
        exit when fits_here and (not backfill
          or (reserve_after_ms is not null and r.blocked_since is not null and r.blocked_since <= now_ms - reserve_after_ms));
      end if;
    end loop;
    close waiting;
  end;
  $$;`
}
