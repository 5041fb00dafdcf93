// Lua run atomically in Redis: every quota and budget check of a request in
// one script, the settlement after it, and the rebuild of lost counters.
// Tables built in a loop are returned as `{unpack(t)}`: the embedded engine
// (fengari) cannot hand back a table grown by assignment, and Redis does not mind.
// Products are taken in floating point (`1.0 + …`): Redis's Lua 5.1 has only
// doubles, but fengari's Lua 5.3 multiplies integers in 32 bits, and a lease
// of nano-dollars passes 2^31.

/**
 * KEYS: deny markers (M), change markers (M, one per subject, in the same
 * order), subjects' seed markers (S), counters (N).
 * ARGV: M, S, seed TTL, lease units wanted, lease share, when the caller's
 * copy was loaded (ms), then per counter: limit (-1 for none), amount, TTL
 * (0 keeps no expiry).
 * Reserves the request's amount on every counter, plus up to `wanted` more
 * of it as a lease for the isolate to hand out itself: never more than
 * 1/share of what a limited counter has left after this request.
 * Returns {0, granted units, value after...} when reserved ({4, …} alike
 * when a change marker is newer than the caller's copy), {1, j, value} when
 * counter j would pass its limit, {2, i...} when subjects i have no counters
 * yet (rebuild them from the ledger), {3, m} when deny marker m is set.
 */
export const GATE_SCRIPT = `
local m = tonumber(ARGV[1])
local s = tonumber(ARGV[2])
local seedTtl = tonumber(ARGV[3])
local granted = tonumber(ARGV[4])
local share = tonumber(ARGV[5])
local loadedAt = tonumber(ARGV[6])
for i = 1, m do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {3, i} end
end
local state = 0
for i = 1, m do
  local changed = redis.call('GET', KEYS[m + i])
  if changed and tonumber(changed) > loadedAt then state = 4 end
end
local unseeded = {2}
for i = 1, s do
  if redis.call('EXISTS', KEYS[2 * m + i]) == 0 then unseeded[#unseeded + 1] = i end
end
if #unseeded > 1 then return {unpack(unseeded)} end
for i = 1, s do redis.call('EXPIRE', KEYS[2 * m + i], seedTtl) end
local base = 2 * m + s
local n = #KEYS - base
local values = {}
for j = 1, n do
  local limit = tonumber(ARGV[4 + j * 3])
  local amount = tonumber(ARGV[5 + j * 3])
  local value = tonumber(redis.call('GET', KEYS[base + j]) or '0')
  values[j] = value
  if limit >= 0 then
    if value + amount > limit then return {1, j, value, state} end
    if amount > 0 then
      local fits = math.floor((limit - value - amount) / share / amount)
      if fits < granted then granted = fits end
    end
  end
end
if granted < 0 then granted = 0 end
local out = {state, granted}
for j = 1, n do
  local key = KEYS[base + j]
  local ttl = tonumber(ARGV[6 + j * 3])
  local amount = string.format('%.0f', tonumber(ARGV[5 + j * 3]) * (1.0 + granted))
  redis.call('INCRBY', key, amount)
  if ttl > 0 and redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ttl) end
  out[j + 2] = values[j] + tonumber(amount)
end
return {unpack(out)}
`;

/** KEYS: counters; ARGV: the change to each (actual minus reserved). Counters that expired stay gone. */
export const SETTLE_SCRIPT = `
for j = 1, #KEYS do
  local delta = tonumber(ARGV[j])
  if delta ~= 0 and redis.call('EXISTS', KEYS[j]) == 1 then redis.call('INCRBY', KEYS[j], ARGV[j]) end
end
return #KEYS
`;

/**
 * KEYS[1]: the subject's seed marker, then its counters. ARGV[1]: marker TTL,
 * then per counter: value from the ledger, TTL. A counter that another
 * isolate seeded first is left alone.
 */
export const SEED_SCRIPT = `
for j = 2, #KEYS do
  local ttl = tonumber(ARGV[j * 2 - 1])
  if ttl > 0 then
    redis.call('SET', KEYS[j], ARGV[j * 2 - 2], 'NX', 'EX', ttl)
  else
    redis.call('SET', KEYS[j], ARGV[j * 2 - 2], 'NX')
  end
end
redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[1]))
return 1
`;
