package interval

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
)

// SDK identity. The Interval server gates protocol features on sdkName and
// string-compared sdkVersion (PROTOCOL.md §8.5): typed initialization errors
// and team access need sdkName "@interval/sdk", and the modern append UI,
// CLOSE_TRANSACTION and typed SEND_IO_CALL errors need a version ≥ "1.4.0".
// Like a browser's User-Agent, the host therefore reports the Node SDK's
// name and the wire version it implements (WireSDKVersion), and names itself
// honestly in the extra "implementation" field and in its logs.
const (
	WireSDKName    = "@interval/sdk"
	WireSDKVersion = "2.0.0"
	// SDKName and Version identify this SDK.
	SDKName = protocol.GoSDKName
	Version = "0.1.0"
)

// Errors returned by the client and by IO methods.
var (
	// ErrClosed is returned by Listen after Shutdown or Close (also when
	// Listen is called after them), and by calls made after it.
	ErrClosed = errors.New("interval: client closed")
	// ErrCanceled is returned by IO methods when the operator cancels the
	// transaction (or the server closes it).
	ErrCanceled = errors.New("interval: transaction canceled")
	// ErrInitialize wraps an INITIALIZE_HOST refusal by the server.
	ErrInitialize = errors.New("interval: server refused initialization")
	// ErrRender wraps a server's refusal of an IO call: when it is sent,
	// or when it is sent again after a reconnection (the server has no
	// such transaction, so no answer will come; the IO call waiting for
	// one returns it).
	ErrRender = errors.New("interval: server refused the IO call")
	// ErrNotConnected is returned by a call that could not reach the server
	// before its context ended. A Transport's Conn returns it (wrapped or
	// not) for a message it could not deliver because the connection was
	// lost or is gone; the client then sends the call again on the next
	// connection (see Transport).
	ErrNotConnected = protocol.ErrNotConnected
)

// Client is an Interval host: it connects to a server, declares its routes
// and runs the transactions the server starts. Create it with New; its
// methods are safe for concurrent use.
type Client struct {
	opts       Options
	log        *slog.Logger
	instanceID string
	counter    atomic.Uint64

	mu    sync.Mutex
	peer  *rpc.Peer // nil while disconnected
	conn  Conn
	ready chan struct{} // closed while connected and initialized; replaced on drop
	txs   map[string]*txState
	// ended holds the ids of the last endedCap transactions that ended
	// here (endedLog, oldest at endedAt once full): a START_TRANSACTION
	// sent again for one of them, by a server that did not see it end, is
	// ignored instead of running the action a second time.
	ended    map[string]struct{}
	endedLog []string
	endedAt  int
	pages    map[string]*pageState
	table    routeIndex
	org      Organization
	// orgKnown is closed once the first INITIALIZE_HOST answer (with the
	// organization) is stored: a START_TRANSACTION the server sends right
	// after that answer can reach the reader before the initializing
	// goroutine has stored it.
	orgKnown     chan struct{}
	orgKnownOnce sync.Once
	env          string
	dashboard    string
	// serverKeepsDev: the server named itself this project's
	// (protocol.GoServerName), which keeps finished development
	// transactions when the host disconnects: no lingering shutdown.
	serverKeepsDev bool

	// The lifecycle (lifecycle.go): one state, its moves, and what they
	// wait on.
	state   lifeState
	work    int                // goroutines running user code (goWork): handlers, page renders, state updates
	changed chan struct{}      // closed and replaced when state or work change, or a transaction is closed, while draining
	life    context.Context    // ends when the client closes; the parent of every handler's context
	kill    context.CancelFunc // ends life; called by closeNow only
	bg      sync.WaitGroup     // the client's own goroutines (route watch, announce and resend, idle workers); Close waits for them
	// Workers (workers.go): the goroutines that run transactions, kept
	// for a while once idle. idle counts those waiting on jobs.
	jobs    chan txJob
	idle    int
	reinit  chan struct{}
	unwatch func()
	// closesUnanswered counts CLOSE_TRANSACTION calls whose answer is not
	// posted yet: the answer goes out after the handler returns, and a
	// drain that closed the connection in between would leave the
	// server's call unanswered.
	closesUnanswered atomic.Int64
}

type routeIndex struct {
	actions map[string]ActionRoute
	pages   map[string]PageRoute
	def     protocol.InitializeHostInputs
}

// New returns a Client for opts. It fails when the API key, endpoint or
// routes are missing (options fall back to INTERVAL_API_KEY and
// INTERVAL_ENDPOINT) or the endpoint is not a ws/wss URL.
func New(opts Options) (*Client, error) {
	if err := opts.resolve(); err != nil {
		return nil, err
	}
	log := levelLogger(opts.Logger, opts.LogLevel)
	c := &Client{
		opts:       opts,
		log:        log,
		instanceID: uuid.NewString(),
		ready:      make(chan struct{}),
		txs:        map[string]*txState{},
		pages:      map[string]*pageState{},
		reinit:     make(chan struct{}, 1),
		orgKnown:   make(chan struct{}),
		changed:    make(chan struct{}),
		jobs:       make(chan txJob),
	}
	c.life, c.kill = context.WithCancel(context.Background())
	c.table = buildIndex(opts.Routes.RouteTable())
	return c, nil
}

// InstanceID is the id the host sends as x-instance-id; it is kept across
// reconnections.
func (c *Client) InstanceID() string { return c.instanceID }

// Organization returns the organization of the last successful
// initialization.
func (c *Client) Organization() Organization {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.org
}

// Environment returns the environment of the last successful
// initialization.
func (c *Client) Environment() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.env
}

func buildIndex(t RouteTable) routeIndex {
	idx := routeIndex{actions: map[string]ActionRoute{}, pages: map[string]PageRoute{}}
	idx.def.Actions = []protocol.ActionDefinition{}
	idx.def.Groups = []protocol.PageDefinition{}
	for _, p := range t.Pages {
		idx.pages[p.Slug] = p
		d := protocol.PageDefinition{Slug: p.Slug, Name: p.Name, Description: p.Description, HasHandler: p.Handler != nil}
		if p.Unlisted {
			d.Unlisted = ptr(true)
		}
		if len(p.Teams) > 0 {
			d.Access = &protocol.Access{Teams: p.Teams}
		}
		idx.def.Groups = append(idx.def.Groups, d)
	}
	for _, a := range t.Actions {
		idx.actions[a.Slug] = a
		d := protocol.ActionDefinition{Slug: a.Slug, Name: a.Name, Description: a.Description, WarnOnClose: a.WarnOnClose}
		if i := lastSlash(a.Slug); i >= 0 {
			d.GroupSlug, d.Slug = a.Slug[:i], a.Slug[i+1:]
		}
		if a.Backgroundable {
			d.Backgroundable = ptr(true)
		}
		if a.Unlisted {
			d.Unlisted = ptr(true)
		}
		if len(a.Teams) > 0 {
			d.Access = &protocol.Access{Teams: a.Teams}
		}
		idx.def.Actions = append(idx.def.Actions, d)
	}
	return idx
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

func ptr[T any](v T) *T { return &v }
