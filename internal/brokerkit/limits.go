package brokerkit

// Limiter bounds the handler calls running at once for one subscription
// (Options.MaxInFlight). A slot is held from the moment an event is taken
// for handling until its outcome is settled (acked, dead-lettered or left
// for redelivery), so the cap also bounds events read but not yet acked.
// Safe for concurrent use.
type Limiter struct {
	slots chan struct{}
}

// NewLimiter returns a limiter with n slots (n < 1 is taken as 1).
func NewLimiter(n int) *Limiter {
	if n < 1 {
		n = 1
	}
	return &Limiter{slots: make(chan struct{}, n)}
}

// Acquire waits for a free slot and returns true, or returns false as soon
// as quit is closed.
func (l *Limiter) Acquire(quit <-chan struct{}) bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	select {
	case l.slots <- struct{}{}:
		return true
	case <-quit:
		return false
	}
}

// TryAcquire takes a free slot if there is one.
func (l *Limiter) TryAcquire() bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release returns a slot taken by Acquire or TryAcquire.
func (l *Limiter) Release() { <-l.slots }

// InFlight returns the number of slots taken.
func (l *Limiter) InFlight() int { return len(l.slots) }

// Free returns the number of free slots.
func (l *Limiter) Free() int { return cap(l.slots) - len(l.slots) }

// Cap returns the number of slots.
func (l *Limiter) Cap() int { return cap(l.slots) }
