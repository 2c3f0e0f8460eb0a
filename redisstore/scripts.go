package redisstore

import (
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// The Lua scripts that keep the revocation state in Redis. Every key they
// touch shares the hash tag of the stream (KeyPrefix+"{rev}" and the keys
// that extend it), so each script runs on one node of a Cluster. Times
// are Unix milliseconds and generations integers, both exact in Lua's
// numbers (below 2^53); string.format('%d') writes them without an
// exponent.
//
// The keys, in the order the scripts take them (see Store.keys):
//
//	seq     the sequence: the generation of the latest revocation
//	scopes  hash: "sub:"+subject, "sid:"+provider session, "all:" →
//	        "generation until at" of the scope's latest revocation;
//	        "#seq" → the sequence as of its last write (markerField)
//	ids     hash: session ID → until; "#seq" as in scopes
//	exp     sorted set: "s"+scope field and "i"+ID by until, for pruning
//	stream  the stream of revocations, each entry with its generation
var (
	// revokeScript records one revocation: it takes the next
	// generation of the sequence (above the caller's floor, its
	// Store.Generation, when Redis lost the sequence), merges the
	// revocation into the snapshot, prunes up to 64 expired snapshot
	// entries (by Redis's clock, untilSlack after their until: a server
	// whose clock is behind Redis's still opens a session until its own
	// clock passes the deadline, and must find the revocation when it
	// loads the snapshot), and appends the entry to the stream,
	// trimming entries older than minid. The markers of the snapshot's
	// hashes follow the sequence only while both match it: a hash lost
	// on its own (evicted, deleted) stays told apart from a whole one.
	// It returns the generation, the entry's stream ID and 1 when Redis
	// lost state (the sequence was at or below the floor, or a hash's
	// marker did not match it), which the caller writes back.
	//
	// ARGV: kind, value, until, at, floor, minid.
	revokeScript = rueidis.NewLuaScript(strings.ReplaceAll(revokeSrc, "PRUNE_SLACK_MS", strconv.FormatInt(untilSlack.Milliseconds(), 10)))

	// stateScript reads, in one step, the sequence (-1 when the key is
	// missing), the ID of the stream's last entry ("0-0" when there is
	// none), when ARGV[1] is "scopes" the scopes of the snapshot, and
	// the markers of the two hashes ("0" when missing). It writes
	// nothing.
	stateScript = rueidis.NewLuaScriptReadOnly(stateSrc)

	// mergeIDsScript merges session IDs (ARGV: id, until, id, until…)
	// into the snapshot, keeping the later until of each.
	mergeIDsScript = rueidis.NewLuaScript(mergeIDsSrc)

	// mergeScopesScript merges a Store's scopes back into a snapshot that
	// lost state, and raises the sequence to at least the Store's floor
	// (its Generation), so that every later generation exceeds every one
	// sealed on that server. A scope's revocation in Redis numbered at
	// or below the floor that the Store does not hold with the same
	// generation and moment was recorded after the loss with a
	// generation some sessions may have sealed already: it gets a new
	// generation above the floor, so that it revokes them. Then the
	// script appends a "reset" entry with the next generation, which
	// makes every follower rebuild from the snapshot. It returns the
	// reset's generation.
	//
	// ARGV: floor, minid, then field, generation, until, at for each
	// scope of the Store.
	mergeScopesScript = rueidis.NewLuaScript(mergeScopesSrc)
)

// The scripts' sources.
const (
	revokeSrc = `
local prev = redis.call('GET', KEYS[1]) or '0'
local intact = (redis.call('HGET', KEYS[2], '#seq') or '0') == prev and (redis.call('HGET', KEYS[3], '#seq') or '0') == prev
local g = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[5])
local lowered = 0
if g <= floor then
  g = floor + 1
  redis.call('SET', KEYS[1], string.format('%d', g))
  lowered = 1
end
local kind, value, u, at = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if kind == 'id' then
  local old = tonumber(redis.call('HGET', KEYS[3], value) or '0') or 0
  if u > old then
    redis.call('HSET', KEYS[3], value, string.format('%d', u))
    redis.call('ZADD', KEYS[4], 'GT', u, 'i' .. value)
  end
else
  local field = kind .. ':' .. value
  local old = redis.call('HGET', KEYS[2], field)
  if old then
    local _, ou, oat = string.match(old, '^(%d+) (%d+) (%d+)$')
    if ou then
      u = math.max(u, tonumber(ou))
      at = math.max(at, tonumber(oat))
    end
  end
  redis.call('HSET', KEYS[2], field, string.format('%d %d %d', g, u, at))
  redis.call('ZADD', KEYS[4], 'GT', u, 's' .. field)
end
if intact then
  redis.call('HSET', KEYS[2], '#seq', string.format('%d', g))
  redis.call('HSET', KEYS[3], '#seq', string.format('%d', g))
else
  lowered = 1
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGE', KEYS[4], '-inf', now - PRUNE_SLACK_MS, 'BYSCORE', 'LIMIT', 0, 64)
for _, m in ipairs(dead) do
  if string.sub(m, 1, 1) == 'i' then
    redis.call('HDEL', KEYS[3], string.sub(m, 2))
  else
    redis.call('HDEL', KEYS[2], string.sub(m, 2))
  end
end
if #dead > 0 then redis.call('ZREM', KEYS[4], unpack(dead)) end
local id = redis.call('XADD', KEYS[5], 'MINID', '~', ARGV[6], '*',
  'k', kind, 'v', value, 'g', string.format('%d', g), 'u', ARGV[3], 'a', ARGV[4])
return {g, id, lowered}
`

	stateSrc = `#!lua flags=no-writes
local seq = redis.call('GET', KEYS[1]) or '-1'
local last = redis.call('XREVRANGE', KEYS[5], '+', '-', 'COUNT', 1)
local lastid = '0-0'
if #last > 0 then lastid = last[1][1] end
local scopes = {}
if ARGV[1] == 'scopes' then scopes = redis.call('HGETALL', KEYS[2]) end
local ms = redis.call('HGET', KEYS[2], '#seq') or '0'
local mi = redis.call('HGET', KEYS[3], '#seq') or '0'
return {seq, lastid, scopes, ms, mi}
`

	mergeIDsSrc = `
for i = 1, #ARGV, 2 do
  local u = tonumber(ARGV[i + 1])
  local old = tonumber(redis.call('HGET', KEYS[3], ARGV[i]) or '0') or 0
  if u > old then
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
    redis.call('ZADD', KEYS[4], 'GT', u, 'i' .. ARGV[i])
  end
end
return #ARGV / 2
`

	mergeScopesSrc = `
local floor = tonumber(ARGV[1])
local seq = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') or 0, floor)
local mine = {}
for i = 3, #ARGV, 4 do
  mine[ARGV[i]] = {tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])}
end
local out = {}
local theirs = redis.call('HGETALL', KEYS[2])
for i = 1, #theirs, 2 do
  local f = theirs[i]
  local g, u, at = string.match(theirs[i + 1], '^(%d+) (%d+) (%d+)$')
  if g and f ~= '#seq' then
    g, u, at = tonumber(g), tonumber(u), tonumber(at)
    local m = mine[f]
    if m then
      u, at = math.max(u, m[2]), math.max(at, m[3])
      if g <= floor and not (g == m[1] and at == m[3]) then
        seq = seq + 1
        g = seq
      end
      mine[f] = nil
    elseif g <= floor then
      seq = seq + 1
      g = seq
    end
    out[f] = {g, u, at}
  end
end
for f, m in pairs(mine) do out[f] = m end
for f, m in pairs(out) do
  redis.call('HSET', KEYS[2], f, string.format('%d %d %d', m[1], m[2], m[3]))
  redis.call('ZADD', KEYS[4], 'GT', m[2], 's' .. f)
end
seq = seq + 1
redis.call('SET', KEYS[1], string.format('%d', seq))
redis.call('HSET', KEYS[2], '#seq', string.format('%d', seq))
redis.call('HSET', KEYS[3], '#seq', string.format('%d', seq))
redis.call('XADD', KEYS[5], 'MINID', '~', ARGV[2], '*', 'k', 'reset', 'v', '', 'g', string.format('%d', seq), 'u', '0', 'a', '0')
return seq
`
)
