/**
 * The Lua scripts behind `RedisStore`, public as `@rel/redis/scripts` for diagnostics and
 * benchmarks: each decision is one script, so one atomic round trip. They mirror `MemoryStore` bucket for bucket (same GCRA arithmetic, same `bucketWidth`, same pruning).
 *
 * A quota key is a hash: field `b<bucketStart>` holds the amount settled in that bucket, field
 * `l<leaseId>` holds `<amount>:<expiresAt>` for a live reservation. A rate key is a string holding
 * the GCRA theoretical arrival time. Times are milliseconds from Redis `TIME`, unless a test passes
 * its own (ARGV[1] non-empty). Stored numbers are strings in their shortest round-trip form. A Lua
 * number returned to Redis is truncated to an integer, so replies carry whole numbers as integers and
 * fractions as strings; the client reads both with `Number`.
 */

/*
 * Cost notes (each line is paid on every call, so the scripts stay lean): a script's top-level
 * `local function`s are new closures on every run, so each script defines only what it uses;
 * whole numbers (every time, bucket and count in practice) skip the shortest-form search; replies
 * carry whole numbers as Redis integers (exact below 2^53) and only fractions as strings; stale
 * hash fields go in one HDEL.
 */

/** Number formatting, for the scripts that need it. */
const FMT = `
local floor, ceil, max, sfmt = math.floor, math.ceil, math.max, string.format
-- Shortest round-trip form: Lua's own tostring keeps only 14 digits.
local function fmt(x)
  if x == floor(x) and x > -1e15 and x < 1e15 then return sfmt('%d', x) end
  local s = sfmt('%.15g', x)
  if tonumber(s) == x then return s end
  s = sfmt('%.16g', x)
  if tonumber(s) == x then return s end
  return sfmt('%.17g', x)
end
-- For replies: a whole number as an integer reply, a fraction as its string.
local function num(x)
  if x == floor(x) and x > -9007199254740992 and x < 9007199254740992 then return x end
  return fmt(x)
end
`;

/** The decision time: ARGV[1] when a test passes one, else Redis TIME. */
const CLOCK = `
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
end
`;

/**
 * Quota hashes: loading with expired leases dropped, the window total, the expiry. Defined by
 * `QUOTA_DEFS` only where needed (an acquire of rate limits alone never builds these closures).
 */
const QUOTA_DEFS = `
local WINDOW_BUCKETS = 60
width = function(windowMs)
  return max(1, ceil(windowMs / WINDOW_BUCKETS))
end
-- Loads a quota hash { buckets = {start = amount}, names = {start = field}, leases = {id = {amount, exp}} }
-- and deletes, in one HDEL, its expired leases, the lease \`drop\` (if given) and (windowMs > 0) the
-- buckets that left the window. sum: settled amounts in the window plus live leases. A key of
-- another type loads as empty, with its error reply in \`err\` for a caller that must refuse it.
load = function(key, now, windowMs, drop)
  local ok, flat = pcall(redis.call, 'HGETALL', key)
  local buckets, names, leases, stale, sum = {}, {}, {}, nil, 0
  if not ok then return { buckets = buckets, names = names, leases = leases, sum = 0, err = flat } end
  local oldest
  if windowMs > 0 then
    local w = width(windowMs)
    oldest = floor(now / w) * w - windowMs + w
  end
  for i = 1, #flat, 2 do
    local f, v = flat[i], flat[i + 1]
    local kind = string.byte(f, 1)
    if kind == 98 then -- 'b'
      local b = tonumber(string.sub(f, 2))
      if oldest and b < oldest then
        stale = stale or {}
        stale[#stale + 1] = f
      else
        local amount = tonumber(v)
        buckets[b] = amount
        names[b] = f
        if oldest then sum = sum + amount end
      end
    elseif kind == 108 then -- 'l'
      local sep = string.find(v, ':', 1, true)
      local exp = tonumber(string.sub(v, sep + 1))
      local id = string.sub(f, 2)
      if exp <= now or id == drop then
        stale = stale or {}
        stale[#stale + 1] = f
      else
        local amount = tonumber(string.sub(v, 1, sep - 1))
        leases[id] = { amount, exp }
        sum = sum + amount
      end
    end
  end
  if stale then redis.call('HDEL', key, unpack(stale)) end
  return { buckets = buckets, names = names, leases = leases, sum = sum }
end
-- Settled amounts in the window plus live leases.
sum = function(q, windowMs)
  local total = 0
  if windowMs > 0 then for _, amount in pairs(q.buckets) do total = total + amount end end
  for _, l in pairs(q.leases) do total = total + l[1] end
  return total
end
-- Sets the key's expiry as MemoryStore does: now + max(window, longest live lease).
expire = function(key, q, windowMs, now)
  local m = 0
  for _, l in pairs(q.leases) do m = max(m, l[2] - now) end
  local ttl = ceil(max(windowMs, m))
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
end
addBucket = function(key, q, windowMs, now, amount)
  local w = width(windowMs)
  local b = floor(now / w) * w
  local cur = (q.buckets[b] or 0) + amount
  q.buckets[b] = cur
  redis.call('HSET', key, q.names[b] or ('b' .. fmt(b)), fmt(cur))
end
`;

const QUOTA_LOCALS = 'local width, load, sum, expire, addBucket\n';
/** Quota helpers, always defined. */
const QUOTA = `${QUOTA_LOCALS}${QUOTA_DEFS}`;

/**
 * One decision: `decide(kb, A, ab, n, now)` reads its `n` keys from `KEYS[kb + 1 .. kb + n]` and its
 * ops from the array `A` (ARGV, or the batch's parsed ops), 7 per op starting after `A[ab]`: type
 * (r|q), limit, period/window, burst, cost, lease id, lease ttl. It returns `{ all, then 4 per op: allowed, remaining, resetMs,
 * retryAfterMs }` (flags 1|0; numbers as integers, or strings for fractions), or the WRONGTYPE error
 * reply when a quota key holds another type, before anything is written. The quota helpers
 * are built once per script run, on the first decision that needs them.
 */
const DECIDE = `${QUOTA_LOCALS}local function quotaHelpers()
${QUOTA_DEFS}
end
-- Fast path, the most common decision: one rate limit, admitted. Same arithmetic as \`decide\`, without
-- building the plans. Returns the decision's reply, or nil when it does not apply (a refusal, a limit
-- of 0, a key of another type): \`decide\` then makes the decision the general way.
local function admitRate(key, limit, period, burst, cost, now)
  if not (limit > 0) then return nil end
  local interval = period / limit
  local tolerance = (burst or limit) * interval
  local cur = redis.pcall('GET', key)
  if type(cur) == 'table' then return nil end
  local tat = max(tonumber(cur) or now, now)
  local newTat = tat + cost * interval
  if newTat - now > tolerance then return nil end
  local ttl = ceil(newTat - now)
  if ttl > 0 then redis.call('SET', key, fmt(newTat), 'PX', ttl) else redis.call('DEL', key) end
  return { 1, 1, num(max(0, floor((tolerance - (newTat - now)) / interval))), num(max(0, ttl)), 0 }
end
local function decide(kb, A, ab, n, now)
  if n == 1 and A[ab + 1] == 'r' then
    local r = admitRate(KEYS[kb + 1], tonumber(A[ab + 2]), tonumber(A[ab + 3]), tonumber(A[ab + 4]), tonumber(A[ab + 5]), now)
    if r then return r end
  end
  if not load then
    for i = 1, n do
      if A[ab + (i - 1) * 7 + 1] == 'q' then
        quotaHelpers()
        break
      end
    end
  end
  local all = true
  local allowed, res, unch, plans = {}, {}, {}, {}
  for i = 1, n do
    local key = KEYS[kb + i]
    local a = ab + (i - 1) * 7
    local kind, limit, period = A[a + 1], tonumber(A[a + 2]), tonumber(A[a + 3])
    local cost = tonumber(A[a + 5])
    local j = (i - 1) * 3
    local ok
    if kind == 'r' then
      if not (limit > 0) then
        ok = cost <= 0
        local retry = ok and 0 or max(1, period)
        res[j + 1], res[j + 2], res[j + 3] = 0, 0, retry
        unch[j + 1], unch[j + 2], unch[j + 3] = 0, 0, retry
      else
        local interval = period / limit
        local tolerance = (tonumber(A[a + 4]) or limit) * interval
        local tat = max(tonumber(redis.call('GET', key)) or now, now)
        local newTat = tat + cost * interval
        ok = newTat - now <= tolerance
        local after = ok and newTat or tat
        local retry = ok and 0 or max(0, ceil(newTat - now - tolerance))
        res[j + 1] = max(0, floor((tolerance - (after - now)) / interval))
        res[j + 2] = max(0, ceil(after - now))
        res[j + 3] = retry
        unch[j + 1] = max(0, floor((tolerance - (tat - now)) / interval))
        unch[j + 2] = max(0, ceil(tat - now))
        unch[j + 3] = retry
        plans[i] = newTat
      end
    else
      local leaseId, leaseTtl = A[a + 6], tonumber(A[a + 7])
      local q = load(key, now, period)
      -- Refused here, while nothing is written: a script is not rolled back, and the HSET below
      -- would fail only after the earlier keys' writes.
      if q.err then return redis.error_reply(type(q.err) == 'table' and q.err.err or tostring(q.err)) end
      local used = q.sum
      ok = used + cost <= limit
      local w = width(period)
      local bucketEnd = floor(now / w) * w + period - now
      local added = 0
      if ok and cost > 0 then
        if leaseId ~= '' then added = leaseTtl elseif period > 0 then added = bucketEnd end
      end
      local full = 0
      if period > 0 then for b in pairs(q.buckets) do full = max(full, b + period - now) end end
      for _, l in pairs(q.leases) do full = max(full, l[2] - now) end
      full = max(0, ceil(full))
      local retry = 0
      if not ok then
        local rel = {}
        if period > 0 then for b, amount in pairs(q.buckets) do rel[#rel + 1] = { b + period - now, amount } end end
        for _, l in pairs(q.leases) do rel[#rel + 1] = { l[2] - now, l[1] } end
        table.sort(rel, function(x, y) return x[1] < y[1] end)
        local need, freed = used + cost - limit, 0
        retry = max(1, full)
        for _, r in ipairs(rel) do
          freed = freed + r[2]
          if freed >= need then retry = max(1, ceil(r[1])); break end
        end
      end
      q.cost, q.leaseId, q.leaseTtl, q.window = cost, leaseId, leaseTtl, period
      plans[i] = q
      res[j + 1], res[j + 2], res[j + 3] = max(0, limit - used - (ok and cost or 0)), max(full, added), retry
      unch[j + 1], unch[j + 2], unch[j + 3] = max(0, limit - used), full, retry
    end
    all = all and ok
    allowed[i] = ok
  end
  local out = { all and 1 or 0 }
  for i = 1, n do
    local key, p, ok = KEYS[kb + i], plans[i], allowed[i]
    if all and p then
      if type(p) == 'number' then
        local ttl = ceil(p - now)
        if ttl > 0 then redis.call('SET', key, fmt(p), 'PX', ttl) else redis.call('DEL', key) end
      else
        local window = p.window
        if p.leaseId ~= '' then
          p.leases[p.leaseId] = { p.cost, now + p.leaseTtl }
          redis.call('HSET', key, 'l' .. p.leaseId, fmt(p.cost) .. ':' .. fmt(now + p.leaseTtl))
        elseif window > 0 then
          addBucket(key, p, window, now, p.cost)
        end
        expire(key, p, window, now)
      end
    end
    local r = (all or not ok) and res or unch
    local j = (i - 1) * 3
    out[#out + 1] = ok and 1 or 0
    out[#out + 1] = num(r[j + 1])
    out[#out + 1] = num(r[j + 2])
    out[#out + 1] = num(r[j + 3])
  end
  return out
end
`;

/**
 * KEYS: one per op. ARGV: now, then 7 per op: type (r|q), limit, period/window, burst, cost, lease id, lease ttl.
 * Reply: `1|0` (all allowed), then 4 per op: `1|0`, remaining, resetMs, retryAfterMs (an integer,
 * or a string for a fraction).
 */
export const ACQUIRE_LUA: string = `${FMT}${CLOCK}${DECIDE}
return decide(0, ARGV, 1, #KEYS, now)
`;

/**
 * One acquire of exactly one rate op: `ACQUIRE_LUA` for that op, without its generality (no op
 * parsing loop, no quota code, no closures on an admit), so it costs Redis less time. Same GCRA
 * arithmetic, same reply, same writes (SET PX, or DEL when no time is left), same refusal and limit 0
 * replies, and the same error on a key of another type (WRONGTYPE). What `RedisStore` runs for a
 * lone rate op when the acquire is not batched (`batchAcquire: false`, or a Redis Cluster client).
 * KEYS: the key. ARGV: now ('' for Redis `TIME`), limit, period, burst ('' for the limit), cost.
 * Reply: `1|0` (allowed), `1|0` again (the op), remaining, resetMs, retryAfterMs (integers, or
 * strings for fractions).
 * @example
 * const sha = await redis.call('SCRIPT', 'LOAD', RATE_LUA);
 * await redis.evalsha(sha, 1, 'rel:user:1', '', 1000, 1000, '', 1); // [1, 1, 999, 1, 0]
 */
export const RATE_LUA: string = `
local floor, ceil, max, sfmt = math.floor, math.ceil, math.max, string.format
${CLOCK}
local key, limit, period, cost = KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
local interval, tolerance, tat, newTat, admit, remaining, reset
-- The common decision, built without closures: an admit whose numbers are plain integers.
if limit > 0 then
  interval = period / limit
  tolerance = (tonumber(ARGV[4]) or limit) * interval
  tat = max(tonumber(redis.call('GET', key)) or now, now)
  newTat = tat + cost * interval
  -- As ACQUIRE_LUA's fast path tests it (so a NaN cost admits there and here alike).
  admit = not (newTat - now > tolerance)
  if admit then
    local ttl = ceil(newTat - now)
    if ttl > 0 then
      -- fmt(newTat) inline.
      local s
      if newTat == floor(newTat) and newTat > -1e15 and newTat < 1e15 then
        s = sfmt('%d', newTat)
      else
        s = sfmt('%.15g', newTat)
        if tonumber(s) ~= newTat then
          s = sfmt('%.16g', newTat)
          if tonumber(s) ~= newTat then s = sfmt('%.17g', newTat) end
        end
      end
      redis.call('SET', key, s, 'PX', ttl)
    else
      redis.call('DEL', key)
    end
    -- Both whole (floor, ceil) and at least 0: num() would return them as they are.
    remaining, reset = max(0, floor((tolerance - (newTat - now)) / interval)), max(0, ttl)
    if remaining < 9007199254740992 and reset < 9007199254740992 then return { 1, 1, remaining, reset, 0 } end
  end
end
-- The rest (limit 0, a refusal, a number past 2^53) replies through num().
${FMT}
if not (limit > 0) then
  local ok = cost <= 0
  local retry = ok and 0 or max(1, period)
  local f = ok and 1 or 0
  return { f, f, 0, 0, num(retry) }
end
if admit then return { 1, 1, num(remaining), num(reset), 0 } end
return {
  0, 0, num(max(0, floor((tolerance - (tat - now)) / interval))), num(max(0, ceil(tat - now))),
  num(max(0, ceil(newTat - now - tolerance)))
}
`;

/**
 * Several independent acquires in one script run (see `RedisStore`'s `batchAcquire`). KEYS: every
 * decision's keys, in order. ARGV, per decision: a header `<op count>` or `<op count>,<time>` (no
 * time: Redis `TIME`, read once per run), then one argument per op,
 * `<type>,<limit>,<period/window>,<burst>,<cost>,<lease ttl>,<lease id>` (empty fields for what the
 * op lacks; the lease id last, so it may hold commas). Reply: one entry per decision, either its
 * `ACQUIRE_LUA` reply or, when that decision raised an error, the error message as a string. Each
 * decision runs under `pcall`, so an error stops only its own decision; the others still apply.
 */
export const ACQUIRE_BATCH_LUA: string = `${FMT}${DECIDE}
local match, byte = string.match, string.byte
local out, A, kb, p, T = {}, {}, 0, 1, nil
local count = #ARGV
while p <= count do
  -- A header without a time is the op count alone.
  local n, now = tonumber(ARGV[p]), nil
  if not n then
    n, now = match(ARGV[p], '^(%d+),(.*)$')
    n, now = tonumber(n), tonumber(now)
  end
  if not now then
    if not T then
      local t = redis.call('TIME')
      T = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
    end
    now = T
  end
  local ok, r = true, nil
  -- One rate op ('r' = byte 114): the fast path straight from its argument, under its own pcall.
  if n == 1 and byte(ARGV[p + 1], 1) == 114 then
    local limit, period, burst, cost = match(ARGV[p + 1], '^r,([^,]*),([^,]*),([^,]*),([^,]*),')
    ok, r = pcall(admitRate, KEYS[kb + 1], tonumber(limit), tonumber(period), tonumber(burst), tonumber(cost), now)
  end
  if ok and not r then
    for i = 1, n do
      local a = (i - 1) * 7
      A[a + 1], A[a + 2], A[a + 3], A[a + 4], A[a + 5], A[a + 7], A[a + 6] =
        match(ARGV[p + i], '^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),(.*)$')
    end
    ok, r = pcall(decide, kb, A, 0, n, now)
  end
  if ok and not r.err then
    out[#out + 1] = r
  elseif type(r) == 'table' and r.err then
    out[#out + 1] = tostring(r.err)
  else
    out[#out + 1] = tostring(r)
  end
  kb = kb + n
  p = p + 1 + n
end
return out
`;

/**
 * `ACQUIRE_BATCH_LUA` for a Redis Cluster node: the decisions of one run may sit in different slots
 * of that node (Redis 7's `allow-cross-slot-keys` flag). Redis Cluster refuses declared keys of
 * several slots, so one key is declared (the first, for routing) and every key travels in ARGV:
 * `<key count>`, the keys, then the batch's ARGV as `ACQUIRE_BATCH_LUA` takes it. A decision whose
 * key this node does not serve (a slot map that changed) fails alone, with Redis' "non local key"
 * error, on its first read, before it writes anything.
 */
export const ACQUIRE_BATCH_CLUSTER_LUA: string = `#!lua flags=allow-cross-slot-keys
local KEYS, ARGV = {}, ARGV
do
  local argv, rest, k = ARGV, {}, tonumber(ARGV[1])
  for i = 1, k do KEYS[i] = argv[i + 1] end
  for i = k + 2, #argv do rest[i - k - 1] = argv[i] end
  ARGV = rest
end
${ACQUIRE_BATCH_LUA}`;

/**
 * KEYS: one per entry, then the lease's "settled" marker key. ARGV: now, lease id, retry (`1`: skip
 * if the marker exists), marker lifetime in ms, then 2 per entry: window, amount. Returns each total.
 * A script is not rolled back when it fails half-way, so a key of another type (WRONGTYPE) is
 * refused before anything is written: a marker left by a failed run would make its retry skip a
 * charge that never landed, and entries written before the failure would be counted again.
 */
export const SETTLE_LUA: string = `${FMT}${CLOCK}${QUOTA}
local leaseId = ARGV[2]
local n = #KEYS - 1
local marker = KEYS[#KEYS]
local memoryMs = tonumber(ARGV[4])
for i = 1, n do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'hash' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. t .. ', not a quota')
  end
end
-- The marker holds when it is forgotten, on the script's clock; PX only reclaims it.
local skip = ARGV[3] == '1' and (tonumber(redis.call('GET', marker)) or 0) > now
if not skip then redis.call('SET', marker, fmt(now + memoryMs), 'PX', memoryMs) end
local out = {}
for i = 1, n do
  local key = KEYS[i]
  local windowMs, amount = tonumber(ARGV[3 + i * 2]), tonumber(ARGV[4 + i * 2])
  local q = load(key, now, windowMs, not skip and leaseId or nil)
  if not skip then
    if amount ~= 0 and windowMs > 0 then addBucket(key, q, windowMs, now, amount) end
    expire(key, q, windowMs, now)
  end
  out[i] = num(sum(q, windowMs))
end
return out
`;

/** KEYS: the quota key. ARGV: now, window. */
export const TOTAL_LUA: string = `${FMT}${CLOCK}${QUOTA}
return num(load(KEYS[1], now, tonumber(ARGV[2])).sum)
`;

/** KEYS: the key. ARGV: has expected (0|1), expected, value, ttl ('' for none). */
export const COMPARE_AND_SET_LUA: string = `
local ok, cur = pcall(redis.call, 'GET', KEYS[1])
if not ok then cur = false end
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
local ttl = tonumber(ARGV[4])
if ttl == nil then redis.call('SET', KEYS[1], ARGV[3])
elseif ttl > 0 then redis.call('SET', KEYS[1], ARGV[3], 'PX', math.ceil(ttl))
else redis.call('DEL', KEYS[1]) end
return 1
`;

/** KEYS: the counter. ARGV: by, ttl (applies on creation only). */
export const INCREMENT_LUA: string = `${FMT}
local ok, cur = pcall(redis.call, 'GET', KEYS[1])
local by, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
if ok and cur then
  local v = (tonumber(cur) or 0) + by
  redis.call('SET', KEYS[1], fmt(v), 'KEEPTTL')
  return num(v)
end
if ttl > 0 then redis.call('SET', KEYS[1], fmt(by), 'PX', ceil(ttl)) else redis.call('DEL', KEYS[1]) end
return num(by)
`;
