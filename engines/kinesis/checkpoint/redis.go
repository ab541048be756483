package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix is the key prefix of NewRedis when none is given.
const DefaultRedisPrefix = "switchyard:kinesis:"

// Redis is a Store in Redis, shared by every process that uses the same
// server and prefix. Per consumer it keeps three keys, all with the same
// hash tag so that a Redis Cluster puts them in one slot:
//
//	<prefix>{<stream>/<consumer>}:checkpoints  hash  shard → sequence number | SHARD_END
//	<prefix>{<stream>/<consumer>}:leases       hash  shard → "<expiry ms>|<owner>"
//	<prefix>{<stream>/<consumer>}:workers      zset  owner scored by its heartbeat expiry (ms)
//
// Every read-check-write runs as one Lua script and judges expiry with
// the server's TIME, so leases are fenced and all workers share one clock.
// Safe for concurrent use; the caller owns the client (Close does not
// close it).
type Redis struct {
	client redis.UniversalClient
	prefix string
}

var _ Store = (*Redis)(nil)

// NewRedis returns a store on client with key prefix (DefaultRedisPrefix
// when empty).
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &Redis{client: client, prefix: prefix}
}

func (r *Redis) keys(k Key) []string {
	base := r.prefix + "{" + k.Stream + "/" + k.Consumer + "}:"
	return []string{base + "checkpoints", base + "leases", base + "workers"}
}

// nowMs is the server clock in milliseconds, for the scripts below.
const nowMs = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function owner_of(v) if not v then return nil, 0 end local i = string.find(v, '|', 1, true); return string.sub(v, i + 1), tonumber(string.sub(v, 1, i - 1)) end
`

// KEYS: checkpoints, leases. ARGV: shard, owner, seq. Returns 1, or 0 when owner has no lease.
var checkpointScript = redis.NewScript(nowMs + `
local o = owner_of(redis.call('HGET', KEYS[2], ARGV[1]))
if o ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`)

// KEYS: leases. ARGV: shard, owner, ttl ms. Returns 1 when owner holds the lease now.
var acquireScript = redis.NewScript(nowMs + `
local o, exp = owner_of(redis.call('HGET', KEYS[1], ARGV[1]))
if o and o ~= ARGV[2] and exp > now then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], (now + tonumber(ARGV[3])) .. '|' .. ARGV[2])
return 1`)

// KEYS: leases. ARGV: shard, owner, ttl ms. Returns 1, or 0 when owner does not hold it.
var renewScript = redis.NewScript(nowMs + `
local o = owner_of(redis.call('HGET', KEYS[1], ARGV[1]))
if o ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], (now + tonumber(ARGV[3])) .. '|' .. ARGV[2])
return 1`)

// KEYS: leases. ARGV: shard, owner.
var releaseScript = redis.NewScript(nowMs + `
local o = owner_of(redis.call('HGET', KEYS[1], ARGV[1]))
if o == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`)

// KEYS: leases. Returns {shard1, owner1, shard2, owner2, ...} of unexpired leases.
var leasesScript = redis.NewScript(nowMs + `
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local o, exp = owner_of(all[i + 1])
  if exp > now then table.insert(out, all[i]); table.insert(out, o) end
end
return out`)

// KEYS: workers. ARGV: owner, ttl ms. Returns the live workers.
var heartbeatScript = redis.NewScript(nowMs + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)`)

// Checkpoints implements Store.
func (r *Redis) Checkpoints(ctx context.Context, k Key) (map[string]string, error) {
	if err := k.validate(); err != nil {
		return nil, err
	}
	m, err := r.client.HGetAll(ctx, r.keys(k)[0]).Result()
	if err != nil {
		return nil, fmt.Errorf("checkpoints of %s: %w", k, err)
	}
	return m, nil
}

// Init implements Store.
func (r *Redis) Init(ctx context.Context, k Key, positions map[string]string) error {
	if err := k.validate(); err != nil {
		return err
	}
	key := r.keys(k)[0]
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for shard, seq := range positions {
			if shard != "" && seq != "" {
				p.HSetNX(ctx, key, shard, seq)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("init positions of %s: %w", k, err)
	}
	return nil
}

// Checkpoint implements Store.
func (r *Redis) Checkpoint(ctx context.Context, k Key, shard, owner, seq string) error {
	if err := validate(k, shard, owner); err != nil {
		return err
	}
	ks := r.keys(k)
	n, err := checkpointScript.Run(ctx, r.client, ks[:2], shard, owner, seq).Int()
	if err != nil {
		return fmt.Errorf("checkpoint %s %s: %w", k, shard, err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Acquire implements Store.
func (r *Redis) Acquire(ctx context.Context, k Key, shard, owner string, ttl time.Duration) (bool, error) {
	if err := validate(k, shard, owner); err != nil {
		return false, err
	}
	n, err := acquireScript.Run(ctx, r.client, r.keys(k)[1:2], shard, owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("acquire lease %s %s: %w", k, shard, err)
	}
	return n == 1, nil
}

// Renew implements Store.
func (r *Redis) Renew(ctx context.Context, k Key, shard, owner string, ttl time.Duration) error {
	if err := validate(k, shard, owner); err != nil {
		return err
	}
	n, err := renewScript.Run(ctx, r.client, r.keys(k)[1:2], shard, owner, ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("renew lease %s %s: %w", k, shard, err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Release implements Store.
func (r *Redis) Release(ctx context.Context, k Key, shard, owner string) error {
	if err := validate(k, shard, owner); err != nil {
		return err
	}
	if err := releaseScript.Run(ctx, r.client, r.keys(k)[1:2], shard, owner).Err(); err != nil {
		return fmt.Errorf("release lease %s %s: %w", k, shard, err)
	}
	return nil
}

// Leases implements Store.
func (r *Redis) Leases(ctx context.Context, k Key) (map[string]string, error) {
	if err := k.validate(); err != nil {
		return nil, err
	}
	list, err := leasesScript.Run(ctx, r.client, r.keys(k)[1:2]).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("leases of %s: %w", k, err)
	}
	out := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		out[list[i]] = list[i+1]
	}
	return out, nil
}

// Heartbeat implements Store.
func (r *Redis) Heartbeat(ctx context.Context, k Key, owner string, ttl time.Duration) ([]string, error) {
	if err := validate(k, "-", owner); err != nil {
		return nil, err
	}
	list, err := heartbeatScript.Run(ctx, r.client, r.keys(k)[2:3], owner, ttl.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("heartbeat %s: %w", k, err)
	}
	slices.Sort(list)
	return list, nil
}

// Leave implements Store.
func (r *Redis) Leave(ctx context.Context, k Key, owner string) error {
	if err := validate(k, "-", owner); err != nil {
		return err
	}
	if err := r.client.ZRem(ctx, r.keys(k)[2], owner).Err(); err != nil {
		return fmt.Errorf("leave %s: %w", k, err)
	}
	return nil
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, k Key) error {
	if err := k.validate(); err != nil {
		return err
	}
	if err := r.client.Del(ctx, r.keys(k)...).Err(); err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	return nil
}
