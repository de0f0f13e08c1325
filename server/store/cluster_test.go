package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interval-go/sdk/server/store/pgtest"
)

func openPG(t *testing.T) *Postgres {
	t.Helper()
	s, err := OpenPostgres(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// joinedPG is a new PostgreSQL store with the replicas of leases joined,
// each alive for its lease.
func joinedPG(t *testing.T, leases map[string]time.Duration) *Postgres {
	t.Helper()
	s := openPG(t)
	for id, lease := range leases {
		must(t, s.Join(context.Background(), id, "", lease))
	}
	return s
}

// TestClusterLeases: a replica is alive while its lease runs; one whose
// lease ran out is reaped, and renewing it then says the lease was lost.
func TestClusterLeases(t *testing.T) {
	t.Parallel()
	s := joinedPG(t, map[string]time.Duration{"a": time.Minute, "b": 50 * time.Millisecond})
	ctx := context.Background()
	ids, err := s.Renew(ctx, "a", time.Minute)
	must(t, err)
	if !slices.Equal(ids, []string{"a", "b"}) {
		t.Fatalf("alive %v, want [a b]", ids)
	}
	time.Sleep(100 * time.Millisecond)
	if ids, _ := s.Renew(ctx, "a", time.Minute); !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("alive after b's lease ran out: %v, want [a]", ids)
	}
	// Run out but not reaped yet: others may have claimed b's runs
	// already, so b may not renew as if nothing happened.
	if _, err := s.Renew(ctx, "b", time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renewing a lease that ran out (not reaped): %v, want ErrLeaseLost", err)
	}
	reaped, err := s.Reap(ctx)
	must(t, err)
	if !slices.Equal(reaped, []string{"b"}) {
		t.Fatalf("reaped %v, want [b]", reaped)
	}
	if _, err := s.Renew(ctx, "b", time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renewing a reaped replica: %v, want ErrLeaseLost", err)
	}
	must(t, s.Leave(ctx, "a"))
	if _, err := s.Renew(ctx, "a", time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renewing a replica that left: %v, want ErrLeaseLost", err)
	}
}

// TestClusterOwnership: a run is claimed by one replica at a time, moves
// only from its owner, follows its host away from a dead replica, and is
// adopted once when its owner dies.
func TestClusterOwnership(t *testing.T) {
	t.Parallel()
	s := joinedPG(t, map[string]time.Duration{"a": time.Minute, "b": time.Minute, "dying": 50 * time.Millisecond})
	ctx := context.Background()
	now := time.Now()
	tx := func(id, status, host string) {
		must(t, s.CreateTransaction(ctx, Transaction{ID: id, Slug: "s", Env: EnvProduction, UserID: "u", UserEmail: "u@example.com",
			Status: status, HostInstanceID: host, CreatedAt: now, UpdatedAt: now}))
	}
	tx("t1", StatusPending, "")
	claim := func(id, who string, want bool) {
		t.Helper()
		got, err := s.ClaimTransaction(ctx, id, who)
		must(t, err)
		if got != want {
			t.Fatalf("%s claims %s: %v, want %v", who, id, got, want)
		}
	}
	claim("t1", "a", true)
	claim("t1", "b", false) // a is alive
	claim("t1", "a", true)  // its own
	if owner, alive, err := s.TransactionOwner(ctx, "t1"); err != nil || owner != "a" || !alive {
		t.Fatalf("owner %q %v %v", owner, alive, err)
	}
	if moved, _ := s.HandTransaction(ctx, "t1", "b", "a"); moved {
		t.Fatal("a run moved from a replica that does not hold it")
	}
	if moved, _ := s.HandTransaction(ctx, "t1", "a", "b"); !moved {
		t.Fatal("a run did not move from its owner")
	}

	// Runs of host h1 held by the dying replica and by a.
	tx("t2", StatusRunning, "h1")
	tx("t3", StatusRunning, "h1")
	tx("t4", StatusHostDropped, "h2")
	claim("t2", "dying", true)
	claim("t3", "a", true)
	claim("t4", "dying", true)
	time.Sleep(100 * time.Millisecond) // the dying replica's lease runs out
	claimed, heldBy, err := s.ClaimForHost(ctx, "b", "h1")
	must(t, err)
	if !slices.Equal(claimed, []string{"t2"}) || !slices.Equal(heldBy, []string{"a"}) {
		t.Fatalf("b claims h1's runs: claimed %v held by %v, want [t2] and [a]", claimed, heldBy)
	}
	adopted, err := s.AdoptOrphans(ctx, "a")
	must(t, err)
	if !slices.Equal(adopted, []string{"t4"}) {
		t.Fatalf("a adopted %v, want [t4]", adopted)
	}
	if again, _ := s.AdoptOrphans(ctx, "b"); len(again) != 0 {
		t.Fatalf("adopted twice: %v", again)
	}
	// A finished run is nobody's to claim.
	tx("t5", StatusCompleted, "h1")
	claim("t5", "a", false)
}

// TestClusterRejoin: a replica whose lease ran out joins again and takes
// back the runs nobody claimed meanwhile, and those only; once it is back,
// nobody claims them.
func TestClusterRejoin(t *testing.T) {
	t.Parallel()
	s := joinedPG(t, map[string]time.Duration{"a": time.Minute, "late": 50 * time.Millisecond})
	ctx := context.Background()
	now := time.Now()
	for _, id := range []string{"t1", "t2", "t3", "t4"} {
		must(t, s.CreateTransaction(ctx, Transaction{ID: id, Slug: "s", Env: EnvProduction, UserID: "u", UserEmail: "u@example.com",
			Status: StatusRunning, HostInstanceID: "h-" + id, CreatedAt: now, UpdatedAt: now}))
		if ok, err := s.ClaimTransaction(ctx, id, "late"); err != nil || !ok {
			t.Fatalf("late claims %s: %v %v", id, ok, err)
		}
	}
	must(t, s.PutHosts(ctx, "late", map[string][]byte{"h-t1": []byte(`{}`)}))
	must(t, s.UpdateTransaction(ctx, Transaction{ID: "t4", Status: StatusCompleted, UpdatedAt: now}))
	time.Sleep(100 * time.Millisecond) // late's lease runs out; it is not reaped
	if ok, err := s.ClaimTransaction(ctx, "t1", "a"); err != nil || !ok {
		t.Fatalf("a claims t1 of the dead replica: %v %v", ok, err)
	}
	if claimed, _, err := s.ClaimForHost(ctx, "a", "h-t2"); err != nil || !slices.Equal(claimed, []string{"t2"}) {
		t.Fatalf("a claims h-t2's runs: %v %v, want [t2]", claimed, err)
	}
	if _, err := s.Renew(ctx, "late", time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("late renews: %v, want ErrLeaseLost", err)
	}
	kept, err := s.Rejoin(ctx, "late", "", time.Minute)
	must(t, err)
	if !slices.Equal(kept, []string{"t3"}) {
		t.Fatalf("late took back %v, want [t3] (t1 and t2 were claimed, t4 finished)", kept)
	}
	if ids, err := s.Renew(ctx, "late", time.Minute); err != nil || !slices.Contains(ids, "late") {
		t.Fatalf("late renews after rejoining: %v %v", ids, err)
	}
	if ok, err := s.ClaimTransaction(ctx, "t3", "a"); err != nil || ok {
		t.Fatalf("a claims t3 from late, back: %v %v, want false", ok, err)
	}
	if adopted, err := s.AdoptOrphans(ctx, "a"); err != nil || len(adopted) != 0 {
		t.Fatalf("a adopts %v %v, want none", adopted, err)
	}
	hosts, err := s.ReplicaHosts(ctx, "a")
	must(t, err)
	if len(hosts["late"]) != 0 {
		t.Fatalf("late's hosts of before still listed: %q", hosts["late"])
	}
	// Rejoining with the row reaped works the same.
	reaped := func() {
		must(t, s.Leave(ctx, "late"))
	}
	reaped()
	if kept, err := s.Rejoin(ctx, "late", "", time.Minute); err != nil || !slices.Equal(kept, []string{"t3"}) {
		t.Fatalf("rejoining after being reaped: %v %v, want [t3]", kept, err)
	}
}

// TestClusterRejoinRacesClaims: replicas claim the runs of one whose lease
// ran out while it joins again, all at once, many times over. Every run
// must end with one holder: a run Rejoin gave back stays the rejoined
// replica's, and one it did not give back is another's.
func TestClusterRejoinRacesClaims(t *testing.T) {
	t.Parallel()
	s := joinedPG(t, map[string]time.Duration{"a": time.Hour, "b": time.Hour})
	ctx := context.Background()
	const runs = 12
	for round := range 25 {
		late := fmt.Sprintf("late%d", round)
		must(t, s.Join(ctx, late, "", 30*time.Millisecond))
		now := time.Now()
		ids := make([]string, runs)
		for i := range ids {
			ids[i] = fmt.Sprintf("r%d-%d", round, i)
			must(t, s.CreateTransaction(ctx, Transaction{ID: ids[i], Slug: "s", Env: EnvProduction, UserID: "u", UserEmail: "u@example.com",
				Status: StatusRunning, HostInstanceID: fmt.Sprintf("h%d-%d", round, i%3), CreatedAt: now, UpdatedAt: now}))
			if ok, err := s.ClaimTransaction(ctx, ids[i], late); err != nil || !ok {
				t.Fatalf("claim: %v %v", ok, err)
			}
		}
		// The lease runs out just as the claims and the rejoin start.
		time.Sleep(time.Until(now.Add(30 * time.Millisecond)))
		var wg sync.WaitGroup
		var kept []string
		var rejoinErr error
		wg.Go(func() { kept, rejoinErr = s.Rejoin(ctx, late, "", time.Hour) })
		for i, id := range ids {
			who := []string{"a", "b"}[i%2]
			wg.Go(func() {
				switch i % 3 {
				case 0:
					s.ClaimTransaction(ctx, id, who)
				case 1:
					s.ClaimForHost(ctx, who, fmt.Sprintf("h%d-%d", round, i%3))
				default:
					s.AdoptOrphans(ctx, who)
				}
			})
		}
		wg.Wait()
		must(t, rejoinErr)
		for _, id := range ids {
			owner, _, err := s.TransactionOwner(ctx, id)
			must(t, err)
			if back := slices.Contains(kept, id); back != (owner == late) {
				t.Fatalf("round %d: run %s given back to %s: %v, but its owner is %s", round, id, late, back, owner)
			}
		}
	}
}

// TestClusterBus: messages reach their replica in the order they were sent,

// TestClusterCreateOwned: a transaction created with an owner (Write.Owner)
// is that replica's in the commit that creates it, with no claim after it:
// a replica that dies right after creating a run leaves it to be adopted,
// not held by nobody. Without an owner it is held by nobody, and no
// adoption takes it.
func TestClusterCreateOwned(t *testing.T) {
	t.Parallel()
	s := joinedPG(t, map[string]time.Duration{"a": time.Minute, "gone": 50 * time.Millisecond})
	ctx := context.Background()
	g := NewGroupCommit(s, GroupCommitOptions{})
	defer g.Close()
	ev := &AuditEvent{At: ts(2), ActorEmail: "a@example.com", Action: "run.started", Target: "t1"}
	must(t, g.QueueCreate(newTx("t1"), "gone", ev)(ctx))
	must(t, g.QueueCreate(newTx("t2"), "", nil)(ctx))
	if owner, alive, err := s.TransactionOwner(ctx, "t1"); err != nil || owner != "gone" || !alive {
		t.Fatalf("t1 created for gone: owner %q alive %v (%v), want gone's at once", owner, alive, err)
	}
	if owner, _, err := s.TransactionOwner(ctx, "t2"); err != nil || owner != "" {
		t.Fatalf("t2 created with no owner: owner %q (%v)", owner, err)
	}
	time.Sleep(100 * time.Millisecond) // gone's lease runs out
	adopted, err := s.AdoptOrphans(ctx, "a")
	must(t, err)
	if !slices.Equal(adopted, []string{"t1"}) {
		t.Fatalf("a adopted %v, want [t1]", adopted)
	}
	// A creation whose id is taken changes no owner.
	if err := g.QueueCreate(newTx("t1"), "gone", nil)(ctx); !errors.Is(err, ErrConflict) {
		t.Fatalf("creating t1 again: %v, want ErrConflict", err)
	}
	if owner, _, err := s.TransactionOwner(ctx, "t1"); err != nil || owner != "a" {
		t.Fatalf("t1 after a second creation: owner %q (%v), want a", owner, err)
	}
}

// TestClusterClaimsSkipLockedRuns: a run whose row a transaction holds
// locked (a replica's write stopped half-way with its process, frozen) is
// left to a later claim: the claims do not wait for it, nor do the
// renewals, which wait for the claims. (They waited: every replica's
// renewal waited behind a claim that waited for the frozen replica, until
// every lease had run out.)
func TestClusterClaimsSkipLockedRuns(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	s, err := OpenPostgres(context.Background(), url)
	must(t, err)
	defer s.Close()
	ctx := context.Background()
	must(t, s.Join(ctx, "a", "", time.Minute))
	must(t, s.Join(ctx, "frozen", "", 50*time.Millisecond))
	g := NewGroupCommit(s, GroupCommitOptions{})
	defer g.Close()
	for _, id := range []string{"t1", "t2"} {
		tx := newTx(id)
		tx.HostInstanceID = "h1"
		must(t, g.QueueCreate(tx, "frozen", nil)(ctx))
	}
	// The frozen replica's write of t1, begun and never ended.
	db, err := pgx.Connect(ctx, url)
	must(t, err)
	defer db.Close(ctx)
	held, err := db.Begin(ctx)
	must(t, err)
	defer held.Rollback(ctx)
	if _, err := held.Exec(ctx, `UPDATE transactions SET status = 'RUNNING' WHERE id = 't1'`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // frozen's lease runs out

	quick, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	adopted, err := s.AdoptOrphans(quick, "a")
	if err != nil {
		t.Fatalf("adopting beside a locked run: %v (it waited for the lock)", err)
	}
	if !slices.Equal(adopted, []string{"t2"}) {
		t.Fatalf("adopted %v, want [t2] (t1 is locked)", adopted)
	}
	if claimed, _, err := s.ClaimForHost(quick, "a", "h1"); err != nil || len(claimed) != 0 {
		t.Fatalf("claiming h1's runs beside a locked run: %v %v, want none claimed", claimed, err)
	}
	if ok, err := s.ClaimTransaction(quick, "t1", "a"); err != nil || ok {
		t.Fatalf("claiming the locked run: %v %v, want false", ok, err)
	}
	if _, err := s.Renew(quick, "a", time.Minute); err != nil {
		t.Fatalf("renewing beside a locked run: %v", err)
	}
	// The store's own sessions end such a transaction after a while.
	var idle string
	if err := s.db.QueryRowContext(ctx, `SHOW idle_in_transaction_session_timeout`).Scan(&idle); err != nil || idle != "10s" {
		t.Fatalf("idle_in_transaction_session_timeout %q (%v), want 10s", idle, err)
	}
	// The frozen replica's session ends: the run is adopted.
	must(t, held.Rollback(ctx))
	adopted, err = s.AdoptOrphans(quick, "a")
	must(t, err)
	if !slices.Equal(adopted, []string{"t1"}) {
		t.Fatalf("adopted %v once the lock was gone, want [t1]", adopted)
	}
}

// TestClusterWritesFencedByOwner: a queued write of a run fenced by its
// owner lands only while that replica (or nobody) holds the run; another's
// is refused with ErrNotOwner, reported once and never retried: a replica
// taken for dead cannot overwrite, with its stale copy, the state of a run
// another replica claimed (a write it had begun before a freeze and
// finishes after it, or one it retries).
func TestClusterWritesFencedByOwner(t *testing.T) {
	t.Parallel()
	s := joinedPG(t, map[string]time.Duration{"a": time.Minute, "b": time.Minute})
	ctx := context.Background()
	var mu sync.Mutex
	var refused []string
	g := NewGroupCommit(s, GroupCommitOptions{OnNotOwner: func(tx Transaction) {
		mu.Lock()
		defer mu.Unlock()
		refused = append(refused, tx.ID+" "+tx.Status)
	}})
	defer g.Close()
	must(t, g.QueueCreate(newTx("t1"), "a", nil)(ctx))
	must(t, g.QueueCreate(newTx("t2"), "", nil)(ctx))

	stale := newTx("t1")
	stale.Status = StatusHostDropped
	g.Queue(stale, "b")
	fresh := newTx("t2")
	fresh.Status = StatusRunning
	g.Queue(fresh, "b") // held by nobody: written
	must(t, g.Sync(ctx))
	if got, err := g.Transaction(ctx, "t1"); err != nil || got.Status != StatusPending {
		t.Fatalf("t1 after b's write: %s (%v), want PENDING (a holds it)", got.Status, err)
	}
	if got, err := g.Transaction(ctx, "t2"); err != nil || got.Status != StatusRunning {
		t.Fatalf("t2 after b's write: %s (%v), want RUNNING", got.Status, err)
	}
	mu.Lock()
	if !slices.Equal(refused, []string{"t1 HOST_DROPPED"}) {
		t.Fatalf("refused writes reported: %v, want [t1 HOST_DROPPED]", refused)
	}
	mu.Unlock()
	if n := g.Retry(ctx); n != 0 {
		t.Fatalf("%d failed writes kept for a retry, want none", n)
	}
	if err := s.UpdateTransaction(ctx, stale); err != nil {
		t.Fatalf("a write with no owner given is not fenced: %v", err)
	}
	own := newTx("t1")
	own.Status = StatusCompleted
	g.Queue(own, "a")
	must(t, g.Sync(ctx))
	if got, err := g.Transaction(ctx, "t1"); err != nil || got.Status != StatusCompleted {
		t.Fatalf("t1 after a's write: %s (%v), want COMPLETED", got.Status, err)
	}
}

// A store without replicas ignores an owner given with a creation.
func TestCreateOwnedWithoutReplicas(t *testing.T) {
	s, err := OpenFile(context.Background(), t.TempDir()+"/interval.db")
	must(t, err)
	defer s.Close()
	g := NewGroupCommit(s, GroupCommitOptions{})
	defer g.Close()
	ctx := context.Background()
	must(t, g.QueueCreate(newTx("t1"), "a", nil)(ctx))
	if got, err := g.Transaction(ctx, "t1"); err != nil || got.ID != "t1" {
		t.Fatalf("t1: %+v %v", got, err)
	}
	upd := newTx("t1")
	upd.Status = StatusRunning
	g.Queue(upd, "b") // not fenced either
	if got, err := g.Transaction(ctx, "t1"); err != nil || got.Status != StatusRunning {
		t.Fatalf("t1 after an update fenced by another owner: %s %v, want RUNNING", got.Status, err)
	}
}

// large ones included; a broadcast reaches every replica.
func TestClusterBus(t *testing.T) {
	t.Parallel()
	s := openPG(t)
	ctx := context.Background()
	type inbox struct {
		mu  sync.Mutex
		got []string
	}
	var a, b inbox
	open := func(id string, in *inbox) *Bus {
		bus, err := s.OpenBus(ctx, id, func(body []byte) {
			in.mu.Lock()
			in.got = append(in.got, string(body))
			in.mu.Unlock()
		}, func() {}, func(msg string, err error) { t.Logf("%s: %v", msg, err) })
		must(t, err)
		return bus
	}
	busA, busB := open("a", &a), open("b", &b)
	defer busB.Close(0)
	defer busA.Close(0)
	large := strings.Repeat("x", 20000)
	var want []string
	for i := range 50 {
		m := strings.Repeat("m", i+1)
		if i%10 == 5 {
			m = large + m
		}
		want = append(want, m)
		busA.Send("b", []byte(m))
	}
	busA.Send("", []byte("to all"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.mu.Lock()
		n := len(b.got)
		b.mu.Unlock()
		a.mu.Lock()
		na := len(a.got)
		a.mu.Unlock()
		if n == len(want)+1 && na == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b got %d messages, a %d; want %d and 1", n, na, len(want)+1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !slices.Equal(b.got[:len(want)], want) || b.got[len(want)] != "to all" {
		t.Fatal("messages out of order or changed")
	}
	if a.got[0] != "to all" {
		t.Fatalf("a got %q, want the broadcast", a.got[0])
	}
}
