package store

import (
	"slices"
	"sync"
	"time"
)

// sessionCacheMax bounds the answers a sessionCache keeps; past it, it
// starts afresh.
const sessionCacheMax = 4096

// sessionCache keeps SessionUser's answers for a SQLite store, which one
// serving process writes (Claim): the console checks its session on every
// request, and the query was a tenth of the server's work for a run created
// over the console API. Every write that could change an answer (a user's
// fields, role, teams or password, a session's end, a user's deletion)
// drops them all once committed (invalidate), and an answer ends with its
// session's expiry, so a lookup sees what the store holds, as without it.
// PostgreSQL stores, which replicas share, keep none.
type sessionCache struct {
	mu  sync.Mutex
	gen uint64 // moved on by invalidate
	m   map[string]cachedSession
}

type cachedSession struct {
	u       User
	expires time.Time
}

// get returns the answer kept for the session of hash, unexpired at now.
func (c *sessionCache) get(hash string, now time.Time) (User, bool) {
	c.mu.Lock()
	e, ok := c.m[hash]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		return User{}, false
	}
	e.u.Teams = slices.Clone(e.u.Teams)
	return e.u, true
}

// generation returns the generation to give put for a lookup starting now.
func (c *sessionCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps u as the answer for hash, read in generation gen: if a write
// was committed since (invalidate), what was read may be older than it,
// and is not kept.
func (c *sessionCache) put(hash string, gen uint64, u User, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= sessionCacheMax {
		c.m = make(map[string]cachedSession)
	}
	u.Teams = slices.Clone(u.Teams)
	c.m[hash] = cachedSession{u: u, expires: expires}
}

// invalidate drops every answer, after a write that may change one was
// committed (or failed: it may have been).
func (c *sessionCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}
