// Lua run atomically in Redis: every quota and budget check of a request in
// one script, the settlement after it, and the rebuild of lost counters.
// Tables built in a loop are returned as `{unpack(t)}`: the embedded engine
// (fengari) cannot hand back a table grown by assignment, and Redis does not mind.

/**
 * KEYS: deny markers (M), subjects' seed markers (S), counters (N).
 * ARGV: M, S, seed TTL, then per counter: limit (-1 for none), amount, TTL (0 keeps no expiry).
 * Returns {0, current...} when reserved, {1, j, current} when counter j would
 * pass its limit, {2, i...} when subjects i have no counters yet (rebuild
 * them from the ledger), {3, m} when deny marker m is set.
 */
export const GATE_SCRIPT = `
local m = tonumber(ARGV[1])
local s = tonumber(ARGV[2])
local seedTtl = tonumber(ARGV[3])
for i = 1, m do
  if redis.call('EXISTS', KEYS[i]) == 1 then return {3, i} end
end
local unseeded = {2}
for i = 1, s do
  if redis.call('EXISTS', KEYS[m + i]) == 0 then unseeded[#unseeded + 1] = i end
end
if #unseeded > 1 then return {unpack(unseeded)} end
for i = 1, s do redis.call('EXPIRE', KEYS[m + i], seedTtl) end
local n = #KEYS - m - s
local current = {0}
for j = 1, n do
  local key = KEYS[m + s + j]
  local limit = tonumber(ARGV[1 + j * 3])
  local amount = tonumber(ARGV[2 + j * 3])
  local value = tonumber(redis.call('GET', key) or '0')
  current[j + 1] = value
  if limit >= 0 and value + amount > limit then return {1, j, value} end
end
for j = 1, n do
  local key = KEYS[m + s + j]
  local ttl = tonumber(ARGV[3 + j * 3])
  redis.call('INCRBY', key, ARGV[2 + j * 3])
  if ttl > 0 and redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ttl) end
end
return {unpack(current)}
`;

/** KEYS: counters; ARGV: the change to each (actual minus reserved). Counters that expired stay gone. */
export const SETTLE_SCRIPT = `
for j = 1, #KEYS do
  local delta = tonumber(ARGV[j])
  if delta ~= 0 and redis.call('EXISTS', KEYS[j]) == 1 then redis.call('INCRBY', KEYS[j], delta) end
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
