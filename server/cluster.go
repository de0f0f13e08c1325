package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// Several servers on one PostgreSQL (replicas). Each replica keeps in
// memory the transactions it holds (store column owner) and the sockets
// connected to it; PostgreSQL is the shared state and the bus between
// them (store.Bus: LISTEN/NOTIFY).
//
//   - A transaction lives on the replica of the host running it. A run
//     created on one replica whose host is on another is handed over when
//     it starts (kind start). A console socket on another replica
//     watching it is stood in for by a stand-in browser there: its calls
//     go over the bus (bcall) and the calls for it come back (push).
//   - A host that reconnects to another replica takes its transactions
//     along: the replica it reaches asks the one holding them to let go
//     (release), or claims them outright from a replica that died.
//   - A replica renews a lease every ReplicaHeartbeat; one whose lease
//     ran out is dead: the others adopt its transactions (as a restarted
//     server recovers its own: they wait for their host) and close the
//     console sockets that watched them there, which reconnect and find
//     them again.
//   - Hosts are listed in replica_hosts, so that every replica's console
//     lists every action and spreads runs over every replica's hosts.

// Defaults of the replica options.
const (
	DefaultReplicaLease     = 6 * time.Second
	DefaultReplicaHeartbeat = time.Second
)

// busTimeout bounds the wait for another replica's answer.
const busTimeout = 20 * time.Second

// errNoReplica is the answer to a request whose replica did not answer.
var errNoReplica = errors.New("server: the replica holding it did not answer")

// notHeld is the error text of a console socket's call for a run the
// replica it was sent to no longer holds (it moved on meanwhile).
const notHeld = "run not held here"

// reconnectReason is what a console socket is closed with when where its
// run lives changed under it: the console reconnects and finds it again.
const reconnectReason = "The run moved to another server; reconnecting."

// Bus message kinds.
const (
	kindReply   = "reply"
	kindPush    = "push"    // a call for a console socket
	kindBCall   = "bcall"   // a console socket's call (request)
	kindBGone   = "bgone"   // a console socket closed
	kindStart   = "start"   // take a run and start it on a host (request)
	kindRelease = "release" // let go of a host instance's runs (request)
	kindRelink  = "relink"  // a watched run moved to another replica
	kindCancel  = "cancel"  // cancel a run (request)
	kindAway    = "away"    // a run's host state (request)
	kindHTTP    = "http"    // serverless hosts registered or removed (broadcast)
	kindHosts   = "hosts"   // a replica's hosts changed (broadcast)
	kindUser    = "user"    // a user event (broadcast)
	kindLeft    = "left"    // the hosts that left a moment ago (request)
	kindRecon   = "recon"   // close a console socket: its run moved
)

// busMsg is one message between replicas.
type busMsg struct {
	From   string          `json:"f"`
	Kind   string          `json:"k"`
	ID     uint64          `json:"id,omitempty"` // of a request
	Re     uint64          `json:"re,omitempty"` // the request a reply answers
	Sid    string          `json:"sid,omitempty"`
	Peer   string          `json:"peer,omitempty"` // replica of Sid when not From
	User   string          `json:"u,omitempty"`
	Tx     string          `json:"tx,omitempty"`
	Host   string          `json:"h,omitempty"`
	Key    string          `json:"key,omitempty"`
	Method string          `json:"m,omitempty"`
	Data   json.RawMessage `json:"d,omitempty"`
	Err    string          `json:"err,omitempty"`
}

// runLink is a console socket watching a run: its replica and sid.
type runLink struct {
	Tx      string `json:"tx"`
	Replica string `json:"r,omitempty"`
	Sid     string `json:"sid,omitempty"`
}

// hostCard is what a replica lists of one of its hosts.
type hostCard struct {
	ID          string                               `json:"id"`
	KeyID       string                               `json:"keyId"`
	Env         string                               `json:"env"`
	UserID      string                               `json:"userId"`
	Status      string                               `json:"status"`
	Active      int                                  `json:"active"`
	SDKName     string                               `json:"sdkName"`
	SDKVersion  string                               `json:"sdkVersion"`
	Impl        *protocol.Implementation             `json:"impl,omitempty"`
	Actions     map[string]protocol.ActionDefinition `json:"actions"`
	Pages       map[string]protocol.PageDefinition   `json:"pages"`
	ConnectedAt time.Time                            `json:"connectedAt"`
	// LeftAt is when a host that left was noticed gone (kindLeft).
	LeftAt time.Time `json:"leftAt,omitzero"`
}

// userEvent is a change of a user or key every replica applies to its
// sockets.
type userEvent struct {
	Op    string    `json:"op"` // disconnect, refresh, key, password, sessions, notify
	User  string    `json:"user,omitempty"`
	Role  string    `json:"role,omitempty"`
	Key   string    `json:"key,omitempty"`
	Keep  string    `json:"keep,omitempty"`
	At    time.Time `json:"at,omitzero"`
	Users []string  `json:"users,omitempty"`
	// Push is a notification for Users' consoles.
	Push *protocol.ClientNotifyInputs `json:"push,omitempty"`
}

// busStore is the store of a cluster: shared state and bus.
type busStore interface {
	store.Cluster
	OpenBus(ctx context.Context, self string, deliver func([]byte), reset func(), logf func(string, error)) (*store.Bus, error)
	// Uploads live in the database, where every replica finds them.
	PutUpload(ctx context.Context, id, name string, r io.Reader) (int64, error)
	OpenUpload(ctx context.Context, id, name string) (*store.Upload, error)
	DeleteUploadsBefore(ctx context.Context, t time.Time) (int, error)
	// Failed password logins count against one limit per email.
	NoteLoginFailure(ctx context.Context, email string, at time.Time, keep time.Duration) error
	LoginFailures(ctx context.Context, email string, since time.Time) ([]time.Time, error)
	ClearLoginFailures(ctx context.Context, email string) error
	// SingleServerPresent reports a server of the release before replicas.
	SingleServerPresent(ctx context.Context) (bool, error)
}

// cluster is a replica's part in an installation of several.
type cluster struct {
	s    *Server
	db   busStore
	id   string
	bus  *store.Bus
	seq  atomic.Uint64
	kick chan struct{} // hosts changed here

	stopOnce sync.Once
	beatMu   sync.Mutex // held by a beat
	// epoch is the cluster's start, the origin of leaseEnd (a monotonic
	// clock's reading).
	epoch time.Time
	// leaseEnd is the time (since epoch) until which this replica's lease
	// surely runs: the sending of the last renewal (or join) that
	// succeeded, plus the lease. The database started the lease when it
	// ran that statement, later. Past it the others may have taken this
	// replica for dead and claimed its runs: it sends nothing (leaseHeld).
	leaseEnd atomic.Int64
	// unsure is set while leaseHeld refuses (logged once an episode).
	unsure atomic.Bool
	// beatNow asks the heartbeat for a beat at once.
	beatNow  chan struct{}
	mu       sync.Mutex
	closed   bool // by leave: spawn starts nothing more
	pending  map[uint64]chan busMsg
	alive    map[string]bool
	dead     map[string]bool // replicas noticed gone
	lastCard string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newSocketID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// afterJoin, when set (by tests), is called by New once the server joined
// the replicas: the rest of its start, slowed down.
var afterJoin func()

// joinCluster makes s a replica of the installation on st.
func (s *Server) joinCluster(ctx context.Context, st busStore) error {
	c := &cluster{s: s, db: st, id: newSocketID(), kick: make(chan struct{}, 1), beatNow: make(chan struct{}, 1),
		pending: map[uint64]chan busMsg{}, alive: map[string]bool{}, dead: map[string]bool{}, epoch: time.Now()}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if old, err := st.SingleServerPresent(ctx); err != nil {
		return fmt.Errorf("server: joining the replicas: %w", err)
	} else if old {
		return fmt.Errorf("server: joining the replicas: %w: a server of an earlier release (one server per database) serves from it; stop it, then start the replicas", store.ErrInUse)
	}
	sent := c.now()
	if err := st.Join(ctx, c.id, s.opts.PublicURL, s.opts.ReplicaLease); err != nil {
		return fmt.Errorf("server: joining the replicas: %w", err)
	}
	c.leaseRenewed(sent)
	bus, err := st.OpenBus(ctx, c.id, c.deliver, c.busReset, func(msg string, err error) { s.log.Warn(msg, "err", err) })
	if err != nil {
		st.Leave(context.Background(), c.id)
		return fmt.Errorf("server: joining the replicas: %w", err)
	}
	c.bus = bus
	s.cl = c
	// The lease runs from here: the heartbeat renews it while the server
	// finishes starting (a password hash for the login throttle takes
	// 0.1–0.2 s, seconds under the race detector, as long as a short
	// lease), until stop.
	c.spawn(c.heartbeat)
	s.log.Info("serving as a replica", "replica", c.id)
	return nil
}

// start is called once the server is ready to serve. A beat is done
// first: until then the replica would know no host of the others, and
// refuse their actions as unknown. So is asking the others which hosts
// are away (learnLeft), with the heartbeat running: a replica that died a
// moment ago answers nothing, and waiting for it must not let this one's
// lease run out.
func (c *cluster) start() {
	c.beat()
	c.learnLeft()
}

// stop leaves the installation: the others adopt what is left at once.
func (c *cluster) stop() {
	c.stopOnce.Do(c.leave)
}

// isDead reports whether replica r was noticed gone.
func (c *cluster) isDead(r string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead[r]
}

// spawn runs f on a goroutine leave waits for; nothing once leaving.
func (c *cluster) spawn(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

func (c *cluster) leave() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.db.Leave(ctx, c.id); err != nil {
		c.s.log.Warn("leaving the replicas failed; the others notice when the lease runs out", "err", err)
	}
	// What is queued (console sockets gone, last pushes) still goes out.
	c.bus.Close(2 * time.Second)
}

// --- sending ---

func (c *cluster) send(to string, m busMsg) {
	m.From = c.id
	body, err := json.Marshal(m)
	if err != nil {
		c.s.log.Error("encoding a bus message", "kind", m.Kind, "err", err)
		return
	}
	c.bus.Send(to, body)
}

// request sends m to replica to and waits for its reply.
func (c *cluster) request(ctx context.Context, to string, m busMsg) (busMsg, error) {
	m.ID = c.seq.Add(1)
	ch := make(chan busMsg, 1)
	c.mu.Lock()
	c.pending[m.ID] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, m.ID)
		c.mu.Unlock()
	}()
	c.send(to, m)
	ctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	// A replica noticed gone meanwhile answers no more: stop waiting
	// then rather than at busTimeout.
	tk := time.NewTicker(c.s.opts.ReplicaHeartbeat)
	defer tk.Stop()
	for {
		select {
		case r := <-ch:
			if r.Err != "" {
				return r, fmt.Errorf("server: replica %s: %s", to, r.Err)
			}
			return r, nil
		case <-tk.C:
			c.mu.Lock()
			dead := c.dead[to]
			c.mu.Unlock()
			if dead {
				return busMsg{}, fmt.Errorf("%w (%s, %s): it is gone", errNoReplica, to, m.Kind)
			}
		case <-ctx.Done():
			return busMsg{}, fmt.Errorf("%w (%s, %s): %w", errNoReplica, to, m.Kind, ctx.Err())
		case <-c.ctx.Done():
			return busMsg{}, fmt.Errorf("%w (%s, %s): %w", errNoReplica, to, m.Kind, ErrServerClosed)
		}
	}
}

func (c *cluster) reply(m busMsg, data any, err error) {
	r := busMsg{Kind: kindReply, Re: m.ID}
	if err != nil {
		r.Err = err.Error()
	} else if data != nil {
		b, merr := json.Marshal(data)
		if merr != nil {
			r.Err = merr.Error()
		}
		r.Data = b
	}
	c.send(m.From, r)
}

// push sends a call to console socket sid of replica peer.
func (c *cluster) push(peer, sid, method string, in any) {
	b, err := json.Marshal(in)
	if err != nil {
		c.s.log.Error("encoding a call for a console socket", "method", method, "err", err)
		return
	}
	c.send(peer, busMsg{Kind: kindPush, Sid: sid, Method: method, Data: b})
}

// --- receiving ---

func (c *cluster) deliver(body []byte) {
	var m busMsg
	if err := json.Unmarshal(body, &m); err != nil {
		c.s.log.Warn("ignoring a bus message that does not decode", "err", err)
		return
	}
	if m.From == c.id && m.Kind != kindReply {
		return // a broadcast of ours, applied when sent
	}
	hb := c.s.hub
	switch m.Kind {
	case kindReply:
		c.mu.Lock()
		ch := c.pending[m.Re]
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	case kindPush:
		hb.pushLocal(m)
	case kindRelink:
		hb.mu.Lock()
		if b := hb.sids[m.Sid]; b != nil {
			b.setRemote(m.Tx, m.From)
		}
		hb.mu.Unlock()
	case kindBGone:
		hb.dropStandIn(m.From, m.Sid)
	case kindRecon:
		hb.mu.Lock()
		if b := hb.sids[m.Sid]; b != nil {
			b.closeWith(1012, reconnectReason)
		}
		hb.mu.Unlock()
	case kindHosts:
		c.spawn(c.reloadHosts)
	case kindHTTP:
		c.spawn(func() {
			ctx, cancel := context.WithTimeout(c.ctx, busTimeout)
			defer cancel()
			hb.syncHTTPHosts(ctx, true)
		})
	case kindUser:
		var ev userEvent
		if err := json.Unmarshal(m.Data, &ev); err == nil {
			c.s.applyUserEvent(ev)
		}
	case kindBCall, kindStart, kindRelease, kindCancel, kindLeft, kindAway:
		// Answered off the bus's goroutine: these take the hub's lock
		// and the store.
		c.spawn(func() { c.answer(m) })
	default:
		c.s.log.Warn("ignoring a bus message of an unknown kind", "kind", protocol.Clip(m.Kind, 32))
	}
}

func (c *cluster) answer(m busMsg) {
	hb := c.s.hub
	switch m.Kind {
	case kindBCall:
		if id := callRun(m.Method, m.Data); id != "" && !hb.holds(id) {
			// The run moved on since the caller looked: a stand-in
			// connected here would watch nothing.
			c.reply(m, nil, errors.New(notHeld))
			return
		}
		b, err := hb.standIn(c, m.From, m.Sid, m.User)
		if err != nil {
			c.reply(m, nil, err)
			return
		}
		out, err := c.s.browserCall(b, m.Method, m.Data)
		c.replyDurable(m, out, err)
	case kindStart:
		c.replyDurable(m, nil, hb.takeStart(c, m))
	case kindRelease:
		c.replyDurable(m, hb.release(c, m.Host, m.Key, m.From), nil)
	case kindLeft:
		c.reply(m, hb.leftCards(), nil)
	case kindAway:
		c.reply(m, hb.hostAway(m.Tx), nil)
	case kindCancel:
		hb.mu.Lock()
		t, ok := hb.txs[m.Tx]
		done := !ok || t.finished()
		if !done {
			hb.cancel(t)
		}
		hb.mu.Unlock()
		c.replyDurable(m, !done, nil)
	}
}

// replyDurable is reply for an answer that follows changes of runs (an
// operator's answer taken, a run started or canceled): as a socket's
// answer (endpoint.send), it goes out once the writes queued before it
// are committed, and not from a replica that may have lost its lease
// (Server.syncSaves); the caller gets that error instead. Sent at once, it
// could acknowledge an answer whose write was then lost or refused.
func (c *cluster) replyDurable(m busMsg, data any, err error) {
	ctx, cancel := context.WithTimeout(c.ctx, busTimeout)
	defer cancel()
	if serr := c.s.syncSaves(ctx); serr != nil {
		data, err = nil, serr
	}
	c.reply(m, data, err)
}

// busReset: the listening connection came back; messages may have been
// missed, so the console sockets watching runs elsewhere reconnect (and
// find them again), and the hosts are read again.
func (c *cluster) busReset() {
	hb := c.s.hub
	hb.mu.Lock()
	for _, b := range hb.sids {
		if len(b.remote) > 0 {
			b.closeWith(1012, "Reconnecting to the server.")
		}
	}
	hb.mu.Unlock()
	c.reloadHosts()
}

// --- heartbeat: leases, dead replicas, hosts ---

// heartbeat beats every ReplicaHeartbeat until the cluster stops, from
// the replica's join on.
func (c *cluster) heartbeat() {
	tk := time.NewTicker(c.s.opts.ReplicaHeartbeat)
	defer tk.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-tk.C:
			c.beat()
		case <-c.beatNow:
			c.beat()
		case <-c.kick:
			c.publishHosts()
		}
	}
}

func (c *cluster) beat() {
	// One beat at a time: start's and the heartbeat's.
	c.beatMu.Lock()
	defer c.beatMu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, busTimeout)
	defer cancel()
	sent := c.now()
	// A renewal that takes longer than a lease renews nothing (the lease
	// counts from sent): past it, the next beat tries again, on another
	// connection if this one's path died.
	rctx, rcancel := context.WithTimeout(ctx, c.s.opts.ReplicaLease)
	ids, err := c.db.Renew(rctx, c.id, c.s.opts.ReplicaLease)
	rcancel()
	if errors.Is(err, store.ErrLeaseLost) {
		c.leaseLost(ctx)
		return
	}
	if err != nil {
		if c.ctx.Err() == nil {
			c.s.log.Warn("renewing the replica lease failed", "err", err)
		}
		return
	}
	c.leaseRenewed(sent)
	alive := map[string]bool{}
	for _, id := range ids {
		alive[id] = true
	}
	c.mu.Lock()
	var gone []string
	for id := range c.alive {
		if !alive[id] {
			gone = append(gone, id)
		}
	}
	c.alive = alive
	for id := range alive {
		// A replica taken for dead that joined again (its lease ran
		// out while it lived, and it let go of all it held) is alive:
		// requests to it wait for its answer again.
		delete(c.dead, id)
	}
	c.mu.Unlock()
	// A gone replica's hosts are away before it is taken for dead: a
	// run handed to it, and taken back as it is found dead (handOff),
	// then waits for them to reconnect (hadHost) instead of failing for
	// want of a host.
	c.s.hub.dropRemoteHosts(gone)
	c.mu.Lock()
	for _, id := range gone {
		c.dead[id] = true
	}
	c.mu.Unlock()
	for _, id := range gone {
		c.s.log.Warn("a replica is gone; its runs continue on the others", "replica", id)
		c.s.hub.replicaGone(id)
	}
	if _, err := c.db.Reap(ctx); err != nil && c.ctx.Err() == nil {
		c.s.log.Warn("removing dead replicas failed", "err", err)
	}
	if adopted, err := c.db.AdoptOrphans(ctx, c.id); err != nil {
		if c.ctx.Err() == nil {
			c.s.log.Warn("adopting the runs of dead replicas failed", "err", err)
		}
	} else if len(adopted) > 0 {
		c.s.log.Info("adopted the runs of a dead replica; they wait for their hosts", "count", len(adopted))
		c.s.hub.load(ctx, adopted, nil)
	}
	c.publishHosts()
	c.reloadHosts()
}

// errLeaseUnsure is leaseHeld's error: this replica's lease may have run
// out.
var errLeaseUnsure = errors.New("server: this replica's lease may have run out (no renewal for a lease): sending nothing until it is renewed")

// now is the time since the cluster's start, on the monotonic clock.
func (c *cluster) now() int64 { return int64(time.Since(c.epoch)) }

// leaseRenewed records a renewal (or join) sent at sent that succeeded.
func (c *cluster) leaseRenewed(sent int64) {
	end := sent + int64(c.s.opts.ReplicaLease)
	for {
		old := c.leaseEnd.Load()
		if old >= end || c.leaseEnd.CompareAndSwap(old, end) {
			break
		}
	}
	if c.now() < end && c.unsure.CompareAndSwap(true, false) {
		c.s.log.Info("the replica lease is renewed: sending again")
	}
}

// leaseHeld returns errLeaseUnsure, and asks for a beat at once, when the
// lease may have run out: no renewal succeeded for a lease (a frozen
// process or VM that just woke up, PostgreSQL out of reach). The others
// may then have taken this replica for dead and claimed its runs, so what
// it would send (an operator's answer acknowledged, a host's call
// answered) could contradict what they do: it sends nothing until the
// beat either renews the lease or finds it lost (leaseLost: every socket
// reconnects). It waits for nothing and takes no lock: the socket writers
// and HTTP responses call it, some under the hub's lock, which a beat
// takes.
func (c *cluster) leaseHeld() error {
	if c.now() < c.leaseEnd.Load() {
		return nil
	}
	if c.unsure.CompareAndSwap(false, true) {
		c.s.log.Warn("no renewal of the replica lease for a lease: sending nothing, closing the sockets that would send and answering HTTP with 503 until a beat renews it or finds it lost")
	}
	c.beatSoon()
	return errLeaseUnsure
}

// beatSoon asks the heartbeat for a beat at once (it never waits).
func (c *cluster) beatSoon() {
	select {
	case c.beatNow <- struct{}{}:
	default:
	}
}

// leaseLost: the lease ran out (a pause longer than the lease, or the
// database out of reach that long), so the others take this replica for
// dead and may have claimed its runs. What it holds in memory may be
// theirs now: every socket reconnects, it lets go of every run, and joins
// again, taking back the runs nobody claimed (Rejoin is ordered with the
// claims, so none of them is claimed after). Those wait for their hosts
// and consoles to reconnect, as adopted runs do.
func (c *cluster) leaseLost(ctx context.Context) {
	c.s.log.Error("this replica's lease ran out; the others may have adopted its runs: reconnecting every socket")
	hb := c.s.hub
	hb.mu.Lock()
	for _, h := range hb.hosts {
		h.e.closeWith(1012, restartReason)
	}
	for _, b := range hb.sids {
		b.closeWith(1012, restartReason)
	}
	for id := range hb.txs {
		delete(hb.txs, id)
	}
	hb.mu.Unlock()
	sent := c.now()
	kept, err := c.db.Rejoin(ctx, c.id, c.s.opts.PublicURL, c.s.opts.ReplicaLease)
	if err != nil {
		// The next beat finds the lease lost again and retries.
		c.s.log.Error("joining the replicas again failed", "err", err)
		return
	}
	c.leaseRenewed(sent)
	c.mu.Lock()
	c.lastCard = "" // Rejoin dropped this replica's hosts: list them again
	c.mu.Unlock()
	if len(kept) > 0 {
		n := hb.load(ctx, kept, nil)
		c.s.log.Info("joined the replicas again; took back the runs nobody claimed meanwhile", "count", n)
	}
}

// hostsChanged asks for this replica's hosts to be listed again soon.
func (c *cluster) hostsChanged() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *cluster) publishHosts() {
	hb := c.s.hub
	hb.mu.Lock()
	cards := map[string][]byte{}
	var ids []string
	for _, h := range hb.hosts {
		if !h.initialized || h.gone || h.request != nil {
			continue
		}
		b, err := json.Marshal(hostCard{ID: h.id, KeyID: h.key.ID, Env: h.key.Env, UserID: h.key.UserID, Status: h.status,
			Active: h.active, SDKName: h.sdkName, SDKVersion: h.sdkVersion, Impl: h.impl, Actions: h.actions, Pages: h.pages,
			ConnectedAt: h.connectedAt})
		if err != nil {
			continue
		}
		cards[h.id] = b
		ids = append(ids, h.id)
	}
	hb.mu.Unlock()
	sort.Strings(ids)
	var all []byte
	for _, id := range ids {
		all = append(all, cards[id]...)
	}
	c.mu.Lock()
	same := string(all) == c.lastCard
	c.mu.Unlock()
	if same {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, busTimeout)
	defer cancel()
	if err := c.db.PutHosts(ctx, c.id, cards); err != nil {
		if c.ctx.Err() == nil {
			c.s.log.Warn("listing this replica's hosts failed", "err", err)
		}
		return
	}
	c.mu.Lock()
	c.lastCard = string(all)
	c.mu.Unlock()
	c.send("", busMsg{Kind: kindHosts})
}

// reloadHosts reads the hosts of the other replicas.
func (c *cluster) reloadHosts() {
	ctx, cancel := context.WithTimeout(c.ctx, busTimeout)
	defer cancel()
	byReplica, err := c.db.ReplicaHosts(ctx, c.id)
	if err != nil {
		if c.ctx.Err() == nil {
			c.s.log.Warn("reading the other replicas' hosts failed", "err", err)
		}
		return
	}
	remote := map[string]*host{}
	for r, cards := range byReplica {
		for _, raw := range cards {
			var hc hostCard
			if err := json.Unmarshal(raw, &hc); err != nil {
				continue
			}
			remote[hc.ID] = &host{id: hc.ID, replica: r, key: store.APIKey{ID: hc.KeyID, Env: hc.Env, UserID: hc.UserID},
				sdkName: hc.SDKName, sdkVersion: hc.SDKVersion, impl: hc.Impl, status: hc.Status, initialized: true,
				actions: hc.Actions, pages: hc.Pages, active: hc.Active, connectedAt: hc.ConnectedAt}
		}
	}
	hb := c.s.hub
	now := time.Now()
	hb.mu.Lock()
	for id, h := range hb.remoteHosts {
		if _, still := remote[id]; !still {
			hb.noteLeftRemote(h, now)
		}
	}
	for id := range remote {
		delete(hb.left, id) // back, on another replica
	}
	hb.remoteHosts = remote
	hb.startAwaitingRemote()
	hb.mu.Unlock()
}

// noteLeftRemote records that host h of another replica is away (hb.mu
// held): it left that replica (or that replica left) without shutting
// down, so it is likely reconnecting to another, and runs of its actions
// wait for it (hadHost) rather than fail at once, as with a host of this
// replica.
func (hb *hub) noteLeftRemote(h *host, now time.Time) {
	if h.status == hostShuttingDown || h.request != nil {
		return
	}
	if h2 := hb.hosts[h.id]; h2 != nil && h2.initialized {
		return
	}
	if _, known := hb.left[h.id]; known {
		return
	}
	h.leftAt, h.status = now, hostReconnecting
	hb.left[h.id] = h
}

// leftCards lists the hosts that left a moment ago (hub.left), for a
// replica that just started (kindLeft).
func (hb *hub) leftCards() []hostCard {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	var out []hostCard
	for _, h := range hb.left {
		out = append(out, hostCard{ID: h.id, KeyID: h.key.ID, Env: h.key.Env, UserID: h.key.UserID, Status: hostReconnecting,
			SDKName: h.sdkName, SDKVersion: h.sdkVersion, Impl: h.impl, Actions: h.actions, Pages: h.pages,
			ConnectedAt: h.connectedAt, LeftAt: h.leftAt})
	}
	return out
}

// learnLeft asks the other replicas, as this one starts, which hosts left
// a moment ago: a host whose replica restarted just before this one is
// likely reconnecting, and runs of its actions created here wait for it
// as they would on the others.
func (c *cluster) learnLeft() {
	c.mu.Lock()
	var peers []string
	for id := range c.alive {
		if id != c.id {
			peers = append(peers, id)
		}
	}
	c.mu.Unlock()
	hb := c.s.hub
	// The others are asked at once: one that died a moment ago delays
	// the answer by its timeout, not each of the others'.
	replies := make([][]hostCard, len(peers))
	var wg sync.WaitGroup
	for i, r := range peers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
			defer cancel()
			rep, err := c.request(ctx, r, busMsg{Kind: kindLeft})
			if err != nil {
				return
			}
			var cards []hostCard
			if json.Unmarshal(rep.Data, &cards) == nil {
				replies[i] = cards
			}
		})
	}
	wg.Wait()
	for i, r := range peers {
		cards := replies[i]
		hb.mu.Lock()
		for _, hc := range cards {
			if _, known := hb.left[hc.ID]; known || hb.hosts[hc.ID] != nil || hb.remoteHosts[hc.ID] != nil {
				continue
			}
			hb.left[hc.ID] = &host{id: hc.ID, replica: r, key: store.APIKey{ID: hc.KeyID, Env: hc.Env, UserID: hc.UserID},
				sdkName: hc.SDKName, sdkVersion: hc.SDKVersion, impl: hc.Impl, status: hostReconnecting, initialized: true,
				actions: hc.Actions, pages: hc.Pages, connectedAt: hc.ConnectedAt, leftAt: hc.LeftAt}
		}
		hb.mu.Unlock()
	}
}

// startAwaitingRemote starts the runs here that wait for any host of their
// action (awaitHost) once another replica lists one (hb.mu held): a host
// initializing elsewhere does not call startAwaiting here.
func (hb *hub) startAwaitingRemote() {
	for _, t := range hb.txs {
		if !awaitsHost(t) || t.hops >= maxHops {
			continue
		}
		devID := ""
		if t.rec.Env == store.EnvDevelopment {
			devID = t.rec.DeveloperID
		}
		for _, h := range hb.remoteHosts {
			if h.status == hostOnline && serves(h, t.rec.Env, devID, t.rec.Slug) {
				hb.start(t)
				break
			}
		}
	}
}

// --- console sockets across replicas ---

// connect routes a console socket's CONNECT_TO_TRANSACTION_AS_CLIENT: to
// the replica holding the run, or here, claiming it first when nobody
// alive holds it. handled is false when the local path answers.
func (c *cluster) connect(b *browser, id string) (ok, handled bool) {
	hb := c.s.hub
	hb.mu.Lock()
	_, here := hb.txs[id]
	hb.mu.Unlock()
	if here {
		return false, false
	}
	ctx, cancel := context.WithTimeout(b.ctx(), busTimeout)
	defer cancel()
	const tries = 5
	for try := 0; try < tries; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return false, true
			case <-time.After(time.Duration(try) * 50 * time.Millisecond):
			}
		}
		owner, alive, err := c.db.TransactionOwner(ctx, id)
		if err != nil {
			return false, false
		}
		if alive && owner != c.id && owner != "" {
			// A relink arriving while the owner answers says where
			// the run went since: it wins over this answer.
			hb.mu.Lock()
			delete(b.remote, id)
			hb.mu.Unlock()
			r, err := c.request(ctx, owner, busMsg{Kind: kindBCall, Sid: b.sid, User: b.user.ID,
				Method: protocol.MethodConnectToTransactionAsClient, Data: rawJSON(protocol.ConnectToTransactionInputs{TransactionID: id})})
			if err != nil && r.Err == notHeld {
				if finished(ctx, c.s, id) {
					return false, false // history: answered here
				}
				continue // it moved meanwhile: look again
			}
			if err != nil {
				// The owner is going (or gone): the console
				// reconnects and finds the run where it went.
				b.log.Warn("the replica holding the run did not answer; reconnecting the console", "transaction", id, "err", err)
				b.closeWith(1012, reconnectReason)
				return false, true
			}
			var yes bool
			json.Unmarshal(r.Data, &yes)
			if yes {
				hb.mu.Lock()
				_, relinked := b.remote[id]
				if _, here := hb.txs[id]; !here && !relinked {
					b.setRemote(id, owner)
				}
				hb.mu.Unlock()
			}
			return yes, true
		}
		got, err := c.db.ClaimTransaction(ctx, id, c.id)
		if err != nil {
			return false, false
		}
		if got {
			if hb.load(ctx, []string{id}, nil) > 0 {
				return false, false
			}
			// Held here in the database but being handed to another
			// replica: watched here, it would show nothing there.
			continue
		}
		// Finished, or another replica claimed it meanwhile: look again.
	}
	if hb.holds(id) || finished(ctx, c.s, id) {
		return false, false
	}
	// Still moving between replicas: the console reconnects and tries
	// again rather than watch nothing.
	b.closeWith(1012, reconnectReason)
	return false, true
}

// finished reports whether run id is over (or unknown) in the store.
func finished(ctx context.Context, s *Server, id string) bool {
	rec, err := s.store.Transaction(ctx, id)
	return err != nil || rec.Status == store.StatusCompleted || rec.Status == store.StatusCanceled
}

// holds reports whether run (or page) id is held here.
func (hb *hub) holds(id string) bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	_, t := hb.txs[id]
	_, p := hb.pages[id]
	return t || p
}

// callRun returns the run a console socket's call is about, for the calls
// that need the run held where they are answered.
func callRun(method string, data json.RawMessage) string {
	switch method {
	case protocol.MethodConnectToTransactionAsClient, protocol.MethodRespondToIOCall, protocol.MethodLeaveTransaction:
		var ref protocol.TransactionRef
		if json.Unmarshal(data, &ref) == nil {
			return ref.TransactionID
		}
	}
	return ""
}

// forward sends a console socket's call for a run another replica holds.
func (c *cluster) forward(b *browser, owner, method string, data json.RawMessage) (any, error) {
	r, err := c.request(b.ctx(), owner, busMsg{Kind: kindBCall, Sid: b.sid, User: b.user.ID, Method: method, Data: data})
	if err != nil && r.Err == notHeld && method == protocol.MethodRespondToIOCall {
		// The run moved without this socket being told: the console
		// reconnects and finds it where it is.
		b.log.Warn("a run moved under its console socket; reconnecting it", "method", method, "replica", owner)
		b.closeWith(1012, reconnectReason)
		return false, nil
	}
	if err != nil {
		b.log.Warn("the replica holding the run did not answer", "method", method, "err", err)
		return false, nil
	}
	return json.RawMessage(r.Data), nil
}

// reconnect closes the console socket of link, wherever it is, so that
// the console reconnects and finds its run again.
func (c *cluster) reconnect(link runLink) {
	if link.Sid == "" {
		return
	}
	if link.Replica != c.id {
		c.send(link.Replica, busMsg{Kind: kindRecon, Sid: link.Sid})
		return
	}
	hb := c.s.hub
	hb.mu.Lock()
	if b := hb.sids[link.Sid]; b != nil {
		b.closeWith(1012, reconnectReason)
	}
	hb.mu.Unlock()
}

// socketGone tells the replicas holding runs b watched that it closed.
func (c *cluster) socketGone(b *browser) {
	seen := map[string]bool{}
	for _, r := range b.remote {
		if !seen[r] {
			seen[r] = true
			c.send(r, busMsg{Kind: kindBGone, Sid: b.sid})
		}
	}
}

func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// pushLocal delivers a call another replica made for a console socket here.
func (hb *hub) pushLocal(m busMsg) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	b := hb.sids[m.Sid]
	if b == nil {
		return
	}
	if m.Method == protocol.MethodClientUsurped {
		var ref protocol.TransactionRef
		if json.Unmarshal(m.Data, &ref) == nil {
			delete(b.remote, ref.TransactionID)
		}
	}
	b.e.call(m.Method, m.Data, nil)
}

// standIn returns the stand-in for console socket sid of replica peer,
// making it for user on first use.
func (hb *hub) standIn(c *cluster, peer, sid, userID string) (*browser, error) {
	k := peer + "/" + sid
	hb.mu.Lock()
	b := hb.standIns[k]
	hb.mu.Unlock()
	if b != nil {
		return b, nil
	}
	ctx, cancel := hb.ctx()
	u, err := hb.s.store.UserByID(ctx, userID)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("console user %s: %w", protocol.Clip(userID, 64), err)
	}
	pctx, stop := context.WithCancel(c.ctx)
	nb := &browser{user: u, txs: map[string]*txn{}, pages: map[string]*pageSess{}, sid: sid, peer: peer, cl: c,
		pctx: pctx, pstop: stop, remote: map[string]string{}, log: hb.s.log.With("browser", u.ID, "replica", peer)}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if b := hb.standIns[k]; b != nil {
		stop()
		return b, nil
	}
	hb.standIns[k] = nb
	return nb, nil
}

// dropStandIn ends the stand-in of a console socket that closed.
func (hb *hub) dropStandIn(peer, sid string) {
	hb.mu.Lock()
	b := hb.standIns[peer+"/"+sid]
	delete(hb.standIns, peer+"/"+sid)
	hb.mu.Unlock()
	if b != nil {
		b.pstop()
		hb.removeBrowser(b)
	}
}

// replicaGone: replica r died or left. The console sockets here watching
// its runs reconnect (and find them where they went); its stand-ins and
// hosts are dropped.
func (hb *hub) replicaGone(r string) {
	var drop []*browser
	hb.mu.Lock()
	for _, b := range hb.sids {
		for _, owner := range b.remote {
			if owner == r {
				b.closeWith(1012, "The server holding this run restarted; reconnecting.")
				break
			}
		}
	}
	for k, b := range hb.standIns {
		if b.peer == r {
			delete(hb.standIns, k)
			drop = append(drop, b)
		}
	}
	hb.dropRemoteHostsLocked([]string{r})
	hb.mu.Unlock()
	for _, b := range drop {
		b.pstop()
		hb.removeBrowser(b)
	}
}

// dropRemoteHosts takes the hosts of the replicas rs for away
// (noteLeftRemote): those replicas are gone.
func (hb *hub) dropRemoteHosts(rs []string) {
	if len(rs) == 0 {
		return
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.dropRemoteHostsLocked(rs)
}

// dropRemoteHostsLocked is dropRemoteHosts with hb.mu held.
func (hb *hub) dropRemoteHostsLocked(rs []string) {
	now := time.Now()
	for id, h := range hb.remoteHosts {
		if slices.Contains(rs, h.replica) {
			delete(hb.remoteHosts, id)
			hb.noteLeftRemote(h, now)
		}
	}
}

// --- runs moving between replicas ---

// watcherFor says where the console socket watching t is, as t leaves
// for replica to (hb.mu held): a socket here calls to for it from now on.
func (hb *hub) watcherFor(t *txn, to string) runLink {
	link := runLink{Tx: t.rec.ID}
	b := t.browser
	if b == nil {
		return link
	}
	link.Replica, link.Sid = hb.s.cl.id, b.sid
	if b.peer != "" {
		link.Replica = b.peer
	} else {
		delete(b.txs, t.rec.ID)
		b.setRemote(t.rec.ID, to)
	}
	return link
}

// handOff gives t, which is to start on remote host h, to h's replica
// (hb.mu held): t leaves this replica's memory; its console socket, if
// here, now calls that replica for it.
func (hb *hub) handOff(t *txn, h *host) {
	c := hb.s.cl
	id := t.rec.ID
	link := hb.watcherFor(t, h.replica)
	hb.uncount(t)
	delete(hb.txs, id)
	hb.moving[id] = true // out of memory, still ours in the database: heal keeps off
	h.active++           // until its replica lists it again
	user := t.user.ID
	c.spawn(func() {
		defer func() {
			hb.mu.Lock()
			delete(hb.moving, id)
			hb.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(c.ctx, busTimeout)
		defer cancel()
		// Its last state is committed before the other replica reads it.
		err := hb.s.saves.Sync(ctx)
		moved := false
		if err == nil {
			moved, err = c.db.HandTransaction(ctx, id, c.id, h.replica)
		}
		if err == nil && !moved {
			err = errors.New("no longer held here")
		}
		start := busMsg{Kind: kindStart, Tx: id, Host: h.id, User: user, Sid: link.Sid, Peer: link.Replica}
		if err == nil {
			_, err = c.request(ctx, h.replica, start)
		}
		// The run is that replica's now: ask again (a start it got
		// already is ignored) while it is alive; taking the run back
		// from a live replica that may have started it would run it
		// twice.
		for try := 0; err != nil && moved && try < 2 && c.ctx.Err() == nil && !c.isDead(h.replica); try++ {
			rctx, rcancel := context.WithTimeout(c.ctx, busTimeout)
			_, err = c.request(rctx, h.replica, start)
			rcancel()
		}
		if err == nil {
			return
		}
		if c.ctx.Err() != nil {
			// This replica is leaving. A run still held here is
			// adopted by a replica that stays; one already moved is
			// told to its new replica once more, without waiting for
			// the answer (the bus sends what is queued before it
			// closes, and a second start of a run is ignored).
			if moved {
				c.send(h.replica, busMsg{Kind: kindStart, Tx: id, Host: h.id, User: user, Sid: link.Sid, Peer: link.Replica})
			}
			hb.s.log.Info("leaving while handing a run over", "transaction", id, "moved", moved)
			return
		}
		hb.s.log.Error("handing a run to the replica of its host failed", "transaction", id, "replica", h.replica, "err", err)
		// It is no longer being handed away: load (which takes up no run
		// that is) may take it up here again below, as may an adoption.
		hb.mu.Lock()
		delete(hb.moving, id)
		hb.mu.Unlock()
		// With a context of its own: the request's may have run out.
		cancel()
		ctx, cancel = context.WithTimeout(c.ctx, busTimeout)
		defer cancel()
		if !moved {
			// Still held here: back in memory, started from here (or
			// waiting for a host here).
			hb.load(ctx, []string{id}, []runLink{link})
			hb.mu.Lock()
			if t2 := hb.txs[id]; t2 != nil && (t2.rec.Status == store.StatusPending || awaitsHost(t2)) {
				t2.hops = maxHops
				hb.start(t2)
			}
			hb.mu.Unlock()
			return
		}
		if !c.isDead(h.replica) {
			hb.s.log.Error("a live replica does not take a run handed to it; it stays there", "transaction", id, "replica", h.replica)
			c.reconnect(link)
			return
		}
		// That replica is gone: take the run back (unless a replica
		// adopted it meanwhile) and start it again from here.
		back, berr := c.db.HandTransaction(ctx, id, h.replica, c.id)
		if berr != nil {
			hb.s.log.Error("taking back a run handed to a replica that is gone failed", "transaction", id, "err", berr)
		}
		// Loaded if this replica holds it: taken back, or adopted here
		// with the runs of the replica that went while it was being
		// handed (the adoption left it alone then).
		if hb.load(ctx, []string{id}, []runLink{link}) == 0 {
			if !back {
				hb.s.log.Info("a run handed to a replica that is gone was adopted by another", "transaction", id)
			}
			// The console watching it reconnects and finds it where
			// it is.
			c.reconnect(link)
			return
		}
		hb.mu.Lock()
		// Only if it never started: one the other replica gave a host
		// before it went waits for that host (loadRec), as adopted
		// runs do; starting it again would run it twice. The hop did
		// not happen: it may be handed again, to the replica its host
		// reconnects to (startAwaitingRemote).
		if t2 := hb.txs[id]; t2 != nil && !t2.finished() && t2.rec.Status == store.StatusPending {
			hb.start(t2)
		}
		hb.mu.Unlock()
	})
}

// maxHops is how many times a run may be handed to another replica as it
// starts: one, then it starts where it is (or waits).
const maxHops = 1

// takeStart takes a run another replica handed over and starts it on
// host m.Host here.
func (hb *hub) takeStart(c *cluster, m busMsg) error {
	ctx, cancel := hb.ctx()
	defer cancel()
	link := runLink{Tx: m.Tx, Replica: m.Peer, Sid: m.Sid}
	if link.Sid == "" {
		link.Replica = ""
	}
	if n := hb.load(ctx, []string{m.Tx}, []runLink{link}); n == 0 {
		return fmt.Errorf("run %s could not be loaded", m.Tx)
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	t := hb.txs[m.Tx]
	if t == nil || t.finished() {
		return nil
	}
	t.hops = maxHops
	// A run that waited for any host of its action (awaitHost) starts
	// like one never started: it was given to no host.
	unstarted := t.rec.Status == store.StatusPending || awaitsHost(t)
	if h := hb.hosts[m.Host]; h != nil && h.initialized && !h.gone && h.status == hostOnline && unstarted {
		hb.startOn(t, h)
		return nil
	}
	if unstarted {
		hb.start(t)
	}
	return nil
}

// release lets go of the unfinished runs of host instance inst (API key
// keyID), which reconnected to replica to: they are saved as waiting for
// their host, handed to to, and their console sockets told where they
// went. It returns the console sockets watching them.
func (hb *hub) release(c *cluster, inst, keyID, to string) []runLink {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if h := hb.hosts[inst]; h != nil && h.key.ID == keyID {
		h.e.closeWith(1008, "New connection established for same ID, closing previous connection.")
	}
	delete(hb.gone, inst)
	// It stays listed as away (hub.left) until its new replica's card
	// lists it (reloadHosts): forgotten now, its actions would be unknown
	// here until then, and runs of them refused.
	now := time.Now()
	for _, t := range hb.txs {
		if t.rec.HostInstanceID != inst || t.finished() || t.viaHTTP != nil || (t.keyID != "" && t.keyID != keyID) {
			continue
		}
		if t.host != nil {
			hb.uncount(t)
			t.host = nil
		}
		if t.rec.Status != store.StatusHostDropped {
			t.rec.Status, t.droppedAt = store.StatusHostDropped, now
			hb.save(t)
		}
	}
	// The runs' last states are committed before the other replica
	// reads them; then one update hands over every run of the host held
	// here: those in memory and those adopted a moment ago and still
	// being read (that reading, which checks who holds them, drops them).
	ctx, cancel := hb.ctx()
	defer cancel()
	var ids []string
	err := hb.s.saves.Sync(ctx)
	if err == nil {
		ids, err = c.db.HandHostTransactions(ctx, inst, keyID, c.id, to)
	}
	if err != nil {
		hb.s.log.Error("handing a host's runs to the replica it moved to failed", "host", inst, "replica", to, "err", err)
	}
	links := make([]runLink, 0, len(ids))
	for _, id := range ids {
		link := runLink{Tx: id}
		if t := hb.txs[id]; t != nil {
			link = hb.watcherFor(t, to)
			delete(hb.txs, id)
		}
		links = append(links, link)
	}
	if len(links) > 0 {
		hb.s.log.Info("a host moved to another replica; its runs went along", "host", inst, "replica", to, "runs", len(links))
	}
	return links
}

// claimForHost brings here, before host h initializes, the unfinished
// runs of its instance held elsewhere: from the replica still holding
// them (release), or outright from a dead one. A replica that does not
// answer is waited for until its lease runs out.
func (c *cluster) claimForHost(h *host) {
	deadline := time.Now().Add(c.s.opts.ReplicaLease + 2*c.s.opts.ReplicaHeartbeat)
	for {
		ctx, cancel := context.WithTimeout(h.e.ctx, busTimeout)
		claimed, heldBy, err := c.db.ClaimForHost(ctx, c.id, h.id)
		if err != nil {
			cancel()
			c.s.log.Warn("claiming a host's runs failed", "host", h.id, "err", err)
			return
		}
		if len(claimed) > 0 {
			c.s.hub.load(ctx, claimed, nil)
		}
		failed := false
		for _, r := range heldBy {
			rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
			rep, err := c.request(rctx, r, busMsg{Kind: kindRelease, Host: h.id, Key: h.key.ID})
			rcancel()
			if err != nil {
				failed = true
				continue
			}
			var links []runLink
			json.Unmarshal(rep.Data, &links)
			ids := make([]string, len(links))
			for i, l := range links {
				ids[i] = l.Tx
			}
			c.s.hub.load(ctx, ids, links)
		}
		if !failed || time.Now().After(deadline) || h.e.ctx.Err() != nil {
			// A release whose answer was lost left runs held here
			// in the database only: take them up now, before the
			// host re-sends its calls for them.
			c.heal(ctx, h.id)
			cancel()
			return
		}
		cancel()
		select {
		case <-h.e.ctx.Done():
			return
		case <-time.After(c.s.opts.ReplicaHeartbeat / 2):
		}
	}
}

// load reads runs this replica now holds into memory, as a restarted
// server recovers its own (started ones wait for their host), attaching
// the console sockets of links. It returns how many of ids it holds in
// memory after: those it loaded, and those already there (loaded at the
// same moment by another caller, say an adoption), to which it attaches a
// link's console socket if they have none.
func (hb *hub) load(ctx context.Context, ids []string, links []runLink) int {
	return hb.loadRuns(ctx, ids, links, true)
}

// heal loads the unfinished runs of host instance inst, initializing here,
// that the database says this replica holds and its memory does not: a
// release whose answer was lost (the other replica let go of them and
// handed them here, the answer never came). Without it nobody would ever
// continue them, as their owner is alive.
func (c *cluster) heal(ctx context.Context, inst string) {
	ids, err := c.db.OwnedTransactions(ctx, c.id, inst)
	if err != nil {
		if c.ctx.Err() == nil {
			c.s.log.Warn("reading the runs this replica holds failed", "err", err)
		}
		return
	}
	hb := c.s.hub
	var missing []string
	hb.mu.Lock()
	for _, id := range ids {
		if _, here := hb.txs[id]; !here && !hb.moving[id] {
			missing = append(missing, id)
		}
	}
	hb.mu.Unlock()
	if len(missing) == 0 {
		return
	}
	if n := hb.loadRuns(ctx, missing, nil, true); n > 0 {
		c.s.log.Warn("took up runs this replica held only in the database (a hand-over message was lost)", "count", n)
	}
}

// loadRuns is load; with verify, a run is taken up only if, under the
// hub's lock, it is not being handed away and the database still says
// this replica holds it: a run adopted or claimed here may be released
// to another replica while it is being read.
func (hb *hub) loadRuns(ctx context.Context, ids []string, links []runLink, verify bool) int {
	byTx := map[string]runLink{}
	for _, l := range links {
		byTx[l.Tx] = l
	}
	n := 0
	now := time.Now()
	for _, id := range ids {
		rec, err := hb.s.store.Transaction(ctx, id)
		if err != nil {
			hb.s.log.Error("loading a run taken from another replica failed", "transaction", id, "err", err)
			continue
		}
		if rec.Status == store.StatusCompleted || rec.Status == store.StatusCanceled {
			continue
		}
		t, err := hb.loadRec(ctx, rec, now)
		if err != nil {
			hb.s.log.Error("loading a run taken from another replica failed", "transaction", id, "err", err)
			continue
		}
		var b *browser
		if l, ok := byTx[id]; ok && l.Sid != "" {
			if l.Replica == hb.s.cl.id {
				hb.mu.Lock()
				b = hb.sids[l.Sid]
				hb.mu.Unlock()
			} else if sb, err := hb.standIn(hb.s.cl, l.Replica, l.Sid, rec.UserID); err == nil {
				b = sb
				hb.s.cl.send(l.Replica, busMsg{Kind: kindRelink, Sid: l.Sid, Tx: id})
			}
		}
		hb.mu.Lock()
		if verify && !hb.ownsNow(ctx, id) {
			hb.mu.Unlock()
			continue
		}
		held, dup := hb.txs[id]
		switch {
		case !dup:
			if t.rec.Status != rec.Status {
				hb.save(t)
			}
			hb.txs[id] = t
			held = t
			hb.s.log.Debug("run taken up from the store", "transaction", id, "status", rec.Status, "pendingAnswer", rec.PendingAnswer != "", "console", b != nil)
		case held.finished():
			hb.mu.Unlock()
			continue
		}
		// Held here now, loaded or already there: the link's console
		// watches it unless another does.
		if b != nil && b.ctx().Err() == nil && held.browser == nil {
			held.browser, held.detachedAt = b, time.Time{}
			b.txs[id] = held
			delete(b.remote, id)
		}
		n++
		hb.mu.Unlock()
	}
	return n
}

// ownsNow reports whether run id is held here by the database and not
// being handed away (hb.mu held).
func (hb *hub) ownsNow(ctx context.Context, id string) bool {
	if hb.moving[id] {
		return false
	}
	owner, _, err := hb.s.cl.db.TransactionOwner(ctx, id)
	return err == nil && owner == hb.s.cl.id
}

// --- user events ---

// userEvent applies ev here and on every other replica.
func (s *Server) userEvent(ev userEvent) {
	s.applyUserEvent(ev)
	if s.cl != nil {
		s.cl.send("", busMsg{Kind: kindUser, Data: rawJSON(ev)})
	}
}

func (s *Server) applyUserEvent(ev userEvent) {
	hb := s.hub
	switch ev.Op {
	case "disconnect":
		hb.disconnectUser(ev.User)
	case "refresh":
		hb.refreshUser(ev.User, ev.Role)
	case "key":
		hb.disconnectKey(ev.Key)
	case "password":
		hb.mu.Lock()
		if ev.At.After(hb.passwordAt[ev.User]) {
			hb.passwordAt[ev.User] = ev.At
		}
		hb.mu.Unlock()
	case "sessions":
		hb.endSessions(ev.User, ev.Keep)
	case "notify":
		if ev.Push == nil {
			return
		}
		hb.mu.Lock()
		for _, id := range ev.Users {
			for b := range hb.browsers[id] {
				b.call(protocol.MethodClientNotify, *ev.Push, nil)
			}
		}
		hb.mu.Unlock()
	}
}

// --- login limits ---

// emailRetryAfter is how long email must wait before its next password
// attempt: with replicas, its failures on every replica count.
func (s *Server) emailRetryAfter(ctx context.Context, email string, now time.Time) time.Duration {
	wait := s.logins.retryAfter(email, now)
	if s.cl == nil {
		return wait
	}
	fs, err := s.cl.db.LoginFailures(ctx, strings.ToLower(email), now.Add(-loginFailWindow))
	if err != nil {
		s.log.Warn("reading the installation's failed logins failed; counting this replica's", "err", err)
		return wait
	}
	if len(fs) >= loginMaxFails {
		wait = max(wait, fs[len(fs)-loginMaxFails].Add(loginFailWindow).Sub(now))
	}
	return wait
}

// loginFailed records a failed password login for email.
func (s *Server) loginFailed(ctx context.Context, email string, now time.Time) {
	s.logins.fail(email, now)
	if s.cl != nil {
		if err := s.cl.db.NoteLoginFailure(ctx, strings.ToLower(email), now, loginFailWindow); err != nil {
			s.log.Warn("recording a failed login for the other replicas failed", "err", err)
		}
	}
}

// loginSucceeded forgets email's failed logins.
func (s *Server) loginSucceeded(ctx context.Context, email string) {
	s.logins.succeed(email)
	if s.cl != nil {
		if err := s.cl.db.ClearLoginFailures(ctx, strings.ToLower(email)); err != nil {
			s.log.Warn("clearing failed logins failed", "err", err)
		}
	}
}

// remoteHolder returns the live replica other than this one holding
// unfinished run id, or "" when it is held here or by nobody alive.
func (c *cluster) remoteHolder(ctx context.Context, id string) string {
	hb := c.s.hub
	hb.mu.Lock()
	_, here := hb.txs[id]
	hb.mu.Unlock()
	if here {
		return ""
	}
	owner, alive, err := c.db.TransactionOwner(ctx, id)
	if err != nil || !alive || owner == c.id {
		return ""
	}
	return owner
}

// httpHostsChanged tells the other replicas that serverless hosts were
// registered or removed.
func (s *Server) httpHostsChanged() {
	if s.cl != nil {
		s.cl.send("", busMsg{Kind: kindHTTP})
	}
}
