package checkpoint

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// Memory is a Store kept in the process's memory: checkpoints survive a
// Stop and Start of the engines that share it, not a restart of the
// process. Lease expiry uses the process's clock. The zero value is not
// usable; call NewMemory. Safe for concurrent use.
type Memory struct {
	mu        sync.Mutex
	consumers map[Key]*memConsumer
	now       func() time.Time
}

type memLease struct {
	owner   string
	expires time.Time
}

type memConsumer struct {
	checkpoints map[string]string
	leases      map[string]memLease
	workers     map[string]time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{consumers: map[Key]*memConsumer{}, now: time.Now}
}

var _ Store = (*Memory)(nil)

func (m *Memory) consumer(k Key) *memConsumer {
	c := m.consumers[k]
	if c == nil {
		c = &memConsumer{checkpoints: map[string]string{}, leases: map[string]memLease{}, workers: map[string]time.Time{}}
		m.consumers[k] = c
	}
	return c
}

// enter returns the argument validation error or ctx's error, else locks
// m and returns the unlock for the caller to defer.
func (m *Memory) enter(ctx context.Context, invalid error) (unlock func(), err error) {
	if invalid != nil {
		return nil, invalid
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	return m.mu.Unlock, nil
}

// Checkpoints implements Store.
func (m *Memory) Checkpoints(ctx context.Context, k Key) (map[string]string, error) {
	unlock, err := m.enter(ctx, k.validate())
	if err != nil {
		return nil, err
	}
	defer unlock()
	return maps.Clone(m.consumer(k).checkpoints), nil
}

// Init implements Store.
func (m *Memory) Init(ctx context.Context, k Key, positions map[string]string) error {
	unlock, err := m.enter(ctx, k.validate())
	if err != nil {
		return err
	}
	defer unlock()
	c := m.consumer(k)
	for shard, seq := range positions {
		if _, ok := c.checkpoints[shard]; !ok && shard != "" && seq != "" {
			c.checkpoints[shard] = seq
		}
	}
	return nil
}

// Checkpoint implements Store.
func (m *Memory) Checkpoint(ctx context.Context, k Key, shard, owner, seq string) error {
	unlock, err := m.enter(ctx, validate(k, shard, owner))
	if err != nil {
		return err
	}
	defer unlock()
	c := m.consumer(k)
	if l, ok := c.leases[shard]; !ok || l.owner != owner {
		return ErrLeaseLost
	}
	c.checkpoints[shard] = seq
	return nil
}

// Acquire implements Store.
func (m *Memory) Acquire(ctx context.Context, k Key, shard, owner string, ttl time.Duration) (bool, error) {
	unlock, err := m.enter(ctx, validate(k, shard, owner))
	if err != nil {
		return false, err
	}
	defer unlock()
	c := m.consumer(k)
	now := m.now()
	if l, ok := c.leases[shard]; ok && l.owner != owner && l.expires.After(now) {
		return false, nil
	}
	c.leases[shard] = memLease{owner: owner, expires: now.Add(ttl)}
	return true, nil
}

// Renew implements Store.
func (m *Memory) Renew(ctx context.Context, k Key, shard, owner string, ttl time.Duration) error {
	unlock, err := m.enter(ctx, validate(k, shard, owner))
	if err != nil {
		return err
	}
	defer unlock()
	c := m.consumer(k)
	if l, ok := c.leases[shard]; !ok || l.owner != owner {
		return ErrLeaseLost
	}
	c.leases[shard] = memLease{owner: owner, expires: m.now().Add(ttl)}
	return nil
}

// Release implements Store.
func (m *Memory) Release(ctx context.Context, k Key, shard, owner string) error {
	unlock, err := m.enter(ctx, validate(k, shard, owner))
	if err != nil {
		return err
	}
	defer unlock()
	c := m.consumer(k)
	if l, ok := c.leases[shard]; ok && l.owner == owner {
		delete(c.leases, shard)
	}
	return nil
}

// Leases implements Store.
func (m *Memory) Leases(ctx context.Context, k Key) (map[string]string, error) {
	unlock, err := m.enter(ctx, k.validate())
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := m.now()
	out := map[string]string{}
	for shard, l := range m.consumer(k).leases {
		if l.expires.After(now) {
			out[shard] = l.owner
		}
	}
	return out, nil
}

// Heartbeat implements Store.
func (m *Memory) Heartbeat(ctx context.Context, k Key, owner string, ttl time.Duration) ([]string, error) {
	unlock, err := m.enter(ctx, validate(k, "-", owner))
	if err != nil {
		return nil, err
	}
	defer unlock()
	c := m.consumer(k)
	now := m.now()
	c.workers[owner] = now.Add(ttl)
	out := make([]string, 0, len(c.workers))
	for w, exp := range c.workers {
		if !exp.After(now) {
			delete(c.workers, w)
			continue
		}
		out = append(out, w)
	}
	slices.Sort(out)
	return out, nil
}

// Leave implements Store.
func (m *Memory) Leave(ctx context.Context, k Key, owner string) error {
	if err := validate(k, "-", owner); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.consumer(k).workers, owner)
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, k Key) error {
	if err := k.validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.consumers, k)
	return nil
}

func validate(k Key, shard, owner string) error {
	if err := k.validate(); err != nil {
		return err
	}
	if err := validName("shard", shard); err != nil {
		return err
	}
	return validName("owner", owner)
}
