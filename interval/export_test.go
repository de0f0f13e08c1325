package interval

import "time"

// Internals for the package's external tests.

// MaxIdleWorkers is maxIdleWorkers.
const MaxIdleWorkers = maxIdleWorkers

// SetIdleWorkerTimeout sets idleWorkerTimeout until the returned function
// restores it.
func SetIdleWorkerTimeout(d time.Duration) (restore func()) {
	old := idleWorkerTimeout.Swap(int64(d))
	return func() { idleWorkerTimeout.Store(old) }
}

// IdleWorkers is how many workers wait for a transaction.
func (c *Client) IdleWorkers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idle
}
