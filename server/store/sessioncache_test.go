package store

import (
	"testing"
	"time"
)

// TestSessionCacheKeepsNothingReadBeforeAWrite: a lookup that read the
// store before a write committed (its generation is older) must not keep
// what it read, which may be what the write changed.
func TestSessionCacheKeepsNothingReadBeforeAWrite(t *testing.T) {
	c := &sessionCache{}
	now := time.Unix(1000, 0)
	gen := c.generation()
	c.invalidate() // a write committed while the lookup read
	c.put("h", gen, User{ID: "u", Role: RoleAdmin, Teams: []string{}}, now.Add(time.Hour))
	if u, ok := c.get("h", now); ok {
		t.Fatalf("kept %+v, read before a write", u)
	}
	c.put("h", c.generation(), User{ID: "u", Role: RoleMember, Teams: []string{}}, now.Add(time.Hour))
	if u, ok := c.get("h", now); !ok || u.Role != RoleMember {
		t.Fatalf("get = %+v, %v; want the answer kept", u, ok)
	}
	if _, ok := c.get("h", now.Add(time.Hour)); ok {
		t.Fatal("an answer outlived its session")
	}
	for i := range sessionCacheMax + 1 {
		c.put(string(rune('a'+i%26))+time.Duration(i).String(), c.generation(), User{}, now.Add(time.Hour))
	}
	if n := len(c.m); n > sessionCacheMax {
		t.Fatalf("%d answers kept, more than %d", n, sessionCacheMax)
	}
}
