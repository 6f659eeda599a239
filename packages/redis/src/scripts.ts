/**
 * The Lua scripts behind `RedisStore`: each decision is one script, so one atomic round trip. They
 * mirror `MemoryStore` bucket for bucket (same GCRA arithmetic, same `bucketWidth`, same pruning).
 *
 * A quota key is a hash: field `b<bucketStart>` holds the amount settled in that bucket, field
 * `l<leaseId>` holds `<amount>:<expiresAt>` for a live reservation. A rate key is a string holding
 * the GCRA theoretical arrival time. Times are milliseconds from Redis `TIME`, unless a test passes
 * its own (ARGV[1] non-empty). Numbers travel as strings in their shortest round-trip form, because
 * a Lua number returned to Redis is truncated to an integer.
 */

const COMMON = `
local function fmt(x)
  for _, p in ipairs({15, 16, 17}) do
    local s = string.format('%.' .. p .. 'g', x)
    if tonumber(s) == x then return s end
  end
  return string.format('%.17g', x)
end
local function clock(arg)
  local n = tonumber(arg)
  if n then return n end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local WINDOW_BUCKETS = 60
local function width(windowMs)
  return math.max(1, math.ceil(windowMs / WINDOW_BUCKETS))
end
-- Loads a quota hash, dropping expired leases: { buckets = {start = amount}, leases = {id = {amount, exp}} }.
local function load(key, now)
  local ok, flat = pcall(redis.call, 'HGETALL', key)
  local q = { buckets = {}, leases = {} }
  if not ok then return q end
  for i = 1, #flat, 2 do
    local f, v = flat[i], flat[i + 1]
    local kind, name = string.sub(f, 1, 1), string.sub(f, 2)
    if kind == 'b' then
      q.buckets[tonumber(name)] = tonumber(v)
    elseif kind == 'l' then
      local sep = string.find(v, ':', 1, true)
      local amount, exp = tonumber(string.sub(v, 1, sep - 1)), tonumber(string.sub(v, sep + 1))
      if exp <= now then redis.call('HDEL', key, f) else q.leases[name] = { amount, exp } end
    end
  end
  return q
end
-- Settled amounts in the window plus live leases; drops buckets that left the window.
local function total(key, q, windowMs, now)
  local sum = 0
  if windowMs > 0 then
    local w = width(windowMs)
    local oldest = math.floor(now / w) * w - windowMs + w
    for b, amount in pairs(q.buckets) do
      if b < oldest then
        q.buckets[b] = nil
        redis.call('HDEL', key, 'b' .. fmt(b))
      else
        sum = sum + amount
      end
    end
  end
  for _, l in pairs(q.leases) do sum = sum + l[1] end
  return sum
end
local function maxLeaseLeft(q, now)
  local m = 0
  for _, l in pairs(q.leases) do m = math.max(m, l[2] - now) end
  return m
end
-- Sets the key's expiry as MemoryStore does: now + max(window, longest live lease).
local function expire(key, q, windowMs, now)
  local ttl = math.ceil(math.max(windowMs, maxLeaseLeft(q, now)))
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
end
local function addBucket(key, q, windowMs, now, amount)
  local w = width(windowMs)
  local b = math.floor(now / w) * w
  local cur = (q.buckets[b] or 0) + amount
  q.buckets[b] = cur
  redis.call('HSET', key, 'b' .. fmt(b), fmt(cur))
end
`;

/** KEYS: one per op. ARGV: now, then 7 per op: type (r|q), limit, period/window, burst, cost, lease id, lease ttl. */
export const ACQUIRE_LUA = `${COMMON}
local now = clock(ARGV[1])
local plans = {}
local all = true
for i, key in ipairs(KEYS) do
  local a = 1 + (i - 1) * 7
  local kind, limit, period = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local burst, cost, leaseId, leaseTtl = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), ARGV[a + 6], tonumber(ARGV[a + 7])
  local p = { kind = kind, key = key }
  if kind == 'r' then
    if not (limit > 0) then
      p.allowed = cost <= 0
      p.res = { 0, 0, p.allowed and 0 or math.max(1, period) }
      p.unchanged = p.res
    else
      local interval = period / limit
      local tolerance = (burst or limit) * interval
      local tat = math.max(tonumber(redis.call('GET', key)) or now, now)
      local newTat = tat + cost * interval
      local allowed = newTat - now <= tolerance
      local after = allowed and newTat or tat
      p.allowed = allowed
      p.newTat = newTat
      p.res = {
        math.max(0, math.floor((tolerance - (after - now)) / interval)),
        math.max(0, math.ceil(after - now)),
        allowed and 0 or math.max(0, math.ceil(newTat - now - tolerance)),
      }
      p.unchanged = { math.max(0, math.floor((tolerance - (tat - now)) / interval)), math.max(0, math.ceil(tat - now)), p.res[3] }
    end
  else
    local q = load(key, now)
    local used = total(key, q, period, now)
    local allowed = used + cost <= limit
    local bucketEnd = math.floor(now / width(period)) * width(period) + period - now
    local added = 0
    if allowed and cost > 0 then
      if leaseId ~= '' then added = leaseTtl elseif period > 0 then added = bucketEnd end
    end
    local rel = {}
    if period > 0 then for b, amount in pairs(q.buckets) do rel[#rel + 1] = { b + period - now, amount } end end
    for _, l in pairs(q.leases) do rel[#rel + 1] = { l[2] - now, l[1] } end
    local full = 0
    for _, r in ipairs(rel) do full = math.max(full, r[1]) end
    full = math.max(0, math.ceil(full))
    local retry = 0
    if not allowed then
      table.sort(rel, function(x, y) return x[1] < y[1] end)
      local need, freed = used + cost - limit, 0
      retry = math.max(1, full)
      for _, r in ipairs(rel) do
        freed = freed + r[2]
        if freed >= need then retry = math.max(1, math.ceil(r[1])); break end
      end
    end
    p.allowed = allowed
    p.q, p.window, p.cost, p.leaseId, p.leaseTtl = q, period, cost, leaseId, leaseTtl
    p.res = { math.max(0, limit - used - (allowed and cost or 0)), math.max(full, added), retry }
    p.unchanged = { math.max(0, limit - used), full, retry }
  end
  all = all and p.allowed
  plans[i] = p
end
local out = { all and '1' or '0' }
for _, p in ipairs(plans) do
  if all then
    if p.kind == 'r' then
      if p.newTat then
        local ttl = math.ceil(p.newTat - now)
        if ttl > 0 then redis.call('SET', p.key, fmt(p.newTat), 'PX', ttl) else redis.call('DEL', p.key) end
      end
    else
      if p.leaseId ~= '' then
        p.q.leases[p.leaseId] = { p.cost, now + p.leaseTtl }
        redis.call('HSET', p.key, 'l' .. p.leaseId, fmt(p.cost) .. ':' .. fmt(now + p.leaseTtl))
      elseif p.window > 0 then
        addBucket(p.key, p.q, p.window, now, p.cost)
      end
      expire(p.key, p.q, p.window, now)
    end
  end
  local r = (all or not p.allowed) and p.res or p.unchanged
  out[#out + 1] = p.allowed and '1' or '0'
  out[#out + 1] = fmt(r[1])
  out[#out + 1] = fmt(r[2])
  out[#out + 1] = fmt(r[3])
end
return out
`;

/**
 * KEYS: one per entry, then the lease's "settled" marker key. ARGV: now, lease id, retry (`1`: skip
 * if the marker exists), marker lifetime in ms, then 2 per entry: window, amount. Returns each total.
 */
export const SETTLE_LUA = `${COMMON}
local now = clock(ARGV[1])
local leaseId = ARGV[2]
local n = #KEYS - 1
local marker = KEYS[#KEYS]
local memoryMs = tonumber(ARGV[4])
-- The marker holds when it is forgotten, on the script's clock; PX only reclaims it.
local skip = ARGV[3] == '1' and (tonumber(redis.call('GET', marker)) or 0) > now
if not skip then redis.call('SET', marker, fmt(now + memoryMs), 'PX', memoryMs) end
local out = {}
for i = 1, n do
  local key = KEYS[i]
  local windowMs, amount = tonumber(ARGV[3 + i * 2]), tonumber(ARGV[4 + i * 2])
  local q = load(key, now)
  if not skip then
    q.leases[leaseId] = nil
    redis.call('HDEL', key, 'l' .. leaseId)
    if amount ~= 0 and windowMs > 0 then addBucket(key, q, windowMs, now, amount) end
    expire(key, q, windowMs, now)
  end
  out[i] = fmt(total(key, q, windowMs, now))
end
return out
`;

/** KEYS: the quota key. ARGV: now, window. */
export const TOTAL_LUA = `${COMMON}
local now = clock(ARGV[1])
return fmt(total(KEYS[1], load(KEYS[1], now), tonumber(ARGV[2]), now))
`;

/** KEYS: the key. ARGV: has expected (0|1), expected, value, ttl ('' for none). */
export const COMPARE_AND_SET_LUA = `
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
export const INCREMENT_LUA = `${COMMON}
local ok, cur = pcall(redis.call, 'GET', KEYS[1])
local by, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
if ok and cur then
  local v = (tonumber(cur) or 0) + by
  redis.call('SET', KEYS[1], fmt(v), 'KEEPTTL')
  return fmt(v)
end
if ttl > 0 then redis.call('SET', KEYS[1], fmt(by), 'PX', math.ceil(ttl)) else redis.call('DEL', KEYS[1]) end
return fmt(by)
`;
