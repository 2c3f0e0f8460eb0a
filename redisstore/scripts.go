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
//	epoch   the sequence's identity: its seed, written with it
//
// A sequence that does not exist is created at Redis's clock in ms (the
// script's TIME), not at 0, by whichever script finds it missing
// (revokeScript, initScript, mergeScopesScript), and the same script
// records that seed as the epoch. From there it stays consecutive (each
// revocation takes the next number): followers take a gap for entries they
// missed. So a sequence created after Redis lost its state starts above
// every generation of the sequence it replaces, which started at that
// Redis's clock too, unless the lost one averaged more than one revocation
// per millisecond over its life (or the new Redis's clock is behind the
// old one's): its revocations revoke every session sealed before the loss,
// even when no running server remembers them. A follower remembers the
// epoch it applied under: another one, or none, means Redis lost state.
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
	// lost state (the sequence was at or below the floor, or missing
	// while the caller holds a generation, or a hash's marker did not
	// match it), which the caller writes back.
	//
	// ARGV: kind, value, until, at, floor, minid.
	revokeScript = rueidis.NewLuaScript(nowSrc + strings.ReplaceAll(revokeSrc, "PRUNE_SLACK_MS", strconv.FormatInt(untilSlack.Milliseconds(), 10)))

	// initScript, run by every Store as it starts, creates the
	// sequence when it does not exist (at Redis's clock, with its
	// epoch), marking the snapshot's hashes whole at it when neither
	// has a marker (a Redis that never held generations, or lost them
	// all); and gives an existing sequence an epoch when it has none (a
	// Redis written by a release before epochs, or the epoch key
	// evicted on its own: a server that remembers another one writes
	// its state back).
	initScript = rueidis.NewLuaScript(nowSrc + initSrc)

	// stateScript reads, in one step, the sequence (-1 when the key is
	// missing), the ID of the stream's last entry ("0-0" when there is
	// none), when ARGV[1] is "scopes" the scopes of the snapshot, and
	// the markers of the two hashes ("0" when missing) and the epoch
	// ("" when missing). It writes nothing.
	stateScript = rueidis.NewLuaScriptReadOnly(stateSrc)

	// mergeIDsScript merges session IDs (ARGV: id, until, id, until…)
	// into the snapshot, keeping the later until of each.
	mergeIDsScript = rueidis.NewLuaScript(mergeIDsSrc)

	// mergeScopesScript merges a Store's scopes back into a snapshot that
	// lost state, and raises the sequence to at least the Store's floor
	// (its Generation), so that every later generation exceeds every one
	// sealed on that server; a missing sequence is created (at Redis's
	// clock, or the floor when higher) with an epoch, and a sequence
	// without one gets one. A scope's revocation in Redis numbered at
	// or below the floor that the Store does not hold with the same
	// generation and moment was recorded after the loss with a
	// generation some sessions may have sealed already: it gets a new
	// generation above the floor, so that it revokes them. Then the
	// script appends a "reset" entry with the next generation, which
	// makes every follower rebuild from the snapshot. It returns the
	// reset's generation and the epoch.
	//
	// ARGV: floor, minid, then field, generation, until, at for each
	// scope of the Store.
	mergeScopesScript = rueidis.NewLuaScript(nowSrc + mergeScopesSrc)
)

// The scripts' sources.
const (
	// nowSrc, the start of the scripts that can create the sequence:
	// Redis's clock in Unix ms.
	nowSrc = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

	revokeSrc = `
local prev = redis.call('GET', KEYS[1])
local created = false
if not prev then
  local seed = string.format('%d', now_ms())
  redis.call('SET', KEYS[1], seed)
  redis.call('SET', KEYS[6], seed)
  prev, created = '0', true
end
local intact = (redis.call('HGET', KEYS[2], '#seq') or '0') == prev and (redis.call('HGET', KEYS[3], '#seq') or '0') == prev
local g = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[5])
local lowered = 0
if created and floor > 0 then lowered = 1 end
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
local now = now_ms()
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
local epoch = redis.call('GET', KEYS[6]) or ''
return {seq, lastid, scopes, ms, mi, epoch}
`

	initSrc = `
local seq = redis.call('GET', KEYS[1])
if not seq then
  seq = string.format('%d', now_ms())
  redis.call('SET', KEYS[1], seq)
  redis.call('SET', KEYS[6], seq)
  if not redis.call('HGET', KEYS[2], '#seq') and not redis.call('HGET', KEYS[3], '#seq') then
    redis.call('HSET', KEYS[2], '#seq', seq)
    redis.call('HSET', KEYS[3], '#seq', seq)
  end
elseif not redis.call('GET', KEYS[6]) then
  redis.call('SET', KEYS[6], string.format('%d', now_ms()))
end
return 1
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
local cur = redis.call('GET', KEYS[1])
local epoch = redis.call('GET', KEYS[6])
local seq = tonumber(cur or '0') or 0
if not cur or not epoch then
  local now = now_ms()
  if not cur then seq = now end
  epoch = string.format('%d', now)
  redis.call('SET', KEYS[6], epoch)
end
seq = math.max(seq, floor)
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
return {seq, epoch}
`
)
