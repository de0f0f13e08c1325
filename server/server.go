// Package server is the embedded Interval-compatible server: the host
// endpoint (/websocket, for this project's Go hosts and the official Node
// SDK alike), the browser socket and JSON API of the web console, the HTTP
// API hosts call, authentication, and a store (an SQLite file by default).
//
// A *Server is an http.Handler, so it runs in-process beside an existing
// application or as its own binary (cmd/interval-server):
//
//	s, err := server.New(ctx, server.Options{DataDir: dir, PublicURL: "http://127.0.0.1:8080"})
//	...
//	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: s}
//	go srv.ListenAndServe()
//	...
//	srv.Shutdown(ctx) // HTTP requests
//	s.Shutdown(ctx)   // websockets, which http.Server does not track
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	wsa "github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/server/store"
)

// Errors returned by the server.
var (
	// ErrServerClosed is returned by the helpers (EnsureAdmin,
	// CreateAPIKey, CreateUser, LoginLink) of a closed server.
	ErrServerClosed = errors.New("server: closed")
	// ErrBadOptions is returned by New for unusable options.
	ErrBadOptions = errors.New("server: bad options")
	// ErrNotFound is returned by helpers given an unknown user or key.
	ErrNotFound = errors.New("server: not found")
)

// Defaults of Options.
const (
	DefaultAdminEmail        = "admin@localhost"
	DefaultOrgName           = "Interval"
	DefaultHostDropGrace     = 10 * time.Minute
	DefaultHostReturnWait    = 10 * time.Second
	DefaultMaxMessageBytes   = 16 << 20
	DefaultLoginLinkLifetime = 24 * time.Hour
	DefaultSessionLifetime   = 30 * 24 * time.Hour
)

// MaxCommitDelay is the longest Options.CommitDelay New accepts.
const MaxCommitDelay = 100 * time.Millisecond

// Options configures a Server. Only DataDir is required.
type Options struct {
	// DataDir holds the SQLite file and uploaded files. Created if missing.
	DataDir string
	// DatabaseURL selects the store (see store.OpenURL): empty for the
	// SQLite file in DataDir, postgres://… or postgresql://… for a
	// PostgreSQL database, sqlite:PATH for another SQLite file. Unknown
	// schemes fail with ErrBadOptions. Its password never appears in logs
	// or errors. Ignored when Store is set.
	DatabaseURL string
	// Store replaces the SQLite store (the server then closes it on Close).
	Store store.Store
	// PublicURL is the server's URL as browsers see it
	// ("http://127.0.0.1:8080"): links, dashboardUrl, action URLs, the
	// browser socket's Origin check and secure cookies (https) derive
	// from it. Empty accepts same-origin browsers and builds links from
	// the request. A serving server records it in the store; a server
	// opened with AdminOnly and no PublicURL uses the recorded one, so
	// its login links point at the server running beside it.
	PublicURL string
	// Logger receives the server's logs; nil discards. Secrets (keys,
	// passwords, tokens) are never logged.
	Logger *slog.Logger
	// OrgName is the organization's name sent to hosts (default "Interval").
	OrgName string
	// AdminEmail is the email of the admin created on first start.
	AdminEmail string
	// HostDropGrace is how long a transaction waits for its host to come
	// back after the host's socket dropped (default 10 minutes); also how
	// long an unfinished transaction survives without any browser.
	HostDropGrace time.Duration
	// HostReturnWait is how long a run waits for a host when none is
	// online for its action but one served it less than HostReturnWait
	// ago (its socket ended without BEGIN_HOST_SHUTDOWN: it is likely
	// reconnecting): the operator sees that the host is away,
	// and the run starts as soon as a host with the action initializes,
	// or fails after the wait (default DefaultHostReturnWait, 10 s: the
	// server cannot know a host's RetryInterval; 10 s is three times the
	// SDKs' default of 3 s, with slack). A run of an action no host
	// served lately fails at once.
	HostReturnWait time.Duration
	// MaxUploadBytes bounds one file an operator uploads (default
	// DefaultMaxUploadBytes, 512 MiB); a larger one is refused (413).
	MaxUploadBytes int64
	// UploadRetention is how long files operators upload (for file
	// inputs) are kept (default DefaultUploadRetention, 30 days; negative
	// keeps them forever). Hosts read a file while the run that asked for
	// it goes on.
	UploadRetention time.Duration
	// UploadDiskReserve is the free space uploads never take from the data
	// dir's file system (default DefaultUploadDiskReserve, 1 GiB): an
	// upload that would leave less is refused (507). Linux only.
	UploadDiskReserve int64
	// MaxMessageBytes is the read limit of every socket (default 16 MiB);
	// larger frames close the socket.
	MaxMessageBytes int64
	// PingInterval of the server's websocket pings (default 30 s).
	PingInterval time.Duration
	// HTTPHostTimeout bounds the wait for a serverless (HTTP) host to
	// connect after the server asked it to run an action or open a page
	// (default 60 s, as in Interval); the run then fails.
	HTTPHostTimeout time.Duration
	// HTTPHostCheckInterval is how often ONLINE serverless hosts are
	// checked (default 5 minutes); HTTPHostRetryInterval how often the
	// others are (default 30 s).
	HTTPHostCheckInterval time.Duration
	HTTPHostRetryInterval time.Duration
	// SMTPURL, when set, delivers notifications by email:
	// smtp://user:password@host:587 (STARTTLS when the server offers it)
	// or smtps://user:password@host:465. EMAIL delivery instructions are
	// mailed to their addresses (console users or not), and notifications
	// without instructions to their console recipients. SMTPFrom is the
	// sender ("Interval <interval@example.com>"), required with SMTPURL.
	// The password never appears in logs or errors.
	SMTPURL  string
	SMTPFrom string
	// SlackToken, when set, posts SLACK delivery instructions with a Slack
	// app's bot token (xoxb-…; scopes chat:write, chat:write.public,
	// users:read, users:read.email) to a channel ("#ops"), a user ("@alex")
	// or the workspace member with an email address. SlackAPIURL is the Web
	// API's base (default DefaultSlackAPIURL; for tests and proxies). The
	// token never appears in logs or errors.
	SlackToken  string
	SlackAPIURL string
	// TrustedProxies lists the reverse proxies in front of the server, by
	// address ("10.0.0.7") or prefix ("10.0.0.0/8"). A request from one of
	// them is taken to come from the last address of its X-Forwarded-For
	// that is not a trusted proxy, over the scheme of its
	// X-Forwarded-Proto; the client's address is what login limits count
	// by. Empty (the default) trusts no proxy and ignores those headers:
	// behind a proxy, every client then counts as the proxy.
	TrustedProxies []string
	// AdminOnly opens the store for administration (EnsureAdmin,
	// CreateAPIKey, CreateUser, LoginLink) beside a server that may be
	// running on the same DataDir: transactions are not recovered, no
	// background work runs, and ServeHTTP answers 503.
	AdminOnly bool
	// MetricsToken, when set, serves the Prometheus metrics on the main
	// listener at MetricsPath to requests with "Authorization: Bearer
	// MetricsToken" (401 without it). Empty, the default, keeps metrics
	// off the main listener, which browsers reach: serve MetricsHandler on
	// a separate address instead (cmd/interval-server -metrics-addr).
	MetricsToken string
	// MetricsMaxActions caps the distinct action slugs used as metric
	// label values (default DefaultMetricsMaxActions); runs of further
	// actions are labelled OtherAction. Hosts declare slugs, so without
	// a cap an API key could grow the metrics without end.
	MetricsMaxActions int
	// ReplicaLease is how long a replica is taken for alive after its last
	// heartbeat (default DefaultReplicaLease), with a PostgreSQL store,
	// where every server started on the same database is a replica of one
	// installation: when a replica is killed, the others adopt its runs
	// this long after its last heartbeat.
	ReplicaLease time.Duration
	// ReplicaHeartbeat is how often a replica renews its lease and reads
	// the other replicas' hosts (default DefaultReplicaHeartbeat); it must
	// be well under ReplicaLease.
	ReplicaHeartbeat time.Duration
	// HostCallsPerSecond and BrowserCallsPerSecond are the most calls a
	// host's, or a console's, socket may make in one second. The server
	// reads a host socket that makes more no faster than that: it stops
	// reading it until the next second (what the host sends meanwhile
	// waits in the connection). A console socket that makes more on
	// average is closed (1008, "Rate limit exceeded."), and reconnects: it
	// may make up to two seconds' worth at once, so that calls made
	// within the limit and read together (after a stall of the network,
	// or of a server short of CPU) do not close it. Defaults DefaultHostCallsPerSecond (1024: a run costs a
	// host two calls, so one host socket serves about 500 runs a second)
	// and DefaultBrowserCallsPerSecond (100).
	HostCallsPerSecond    int
	BrowserCallsPerSecond int
	// CommitDelay, when above 0, makes a commit of runs' state changes
	// that follows another at once wait this long for more changes to
	// share it when it or the one before held several runs' changes (as
	// PostgreSQL's commit_delay and commit_siblings: a lone run's commits
	// do not wait): fewer commits and fsyncs,
	// less CPU under load on a disk whose fsync is fast, and up to that
	// much more latency for what waits for them (an acknowledgement, a
	// run's end). 0, the default, commits at once; at most MaxCommitDelay.
	// See BENCHMARKS.md for what 200 µs and 500 µs do at 1,000 runs a
	// second.
	CommitDelay time.Duration
	// InboxSize is how many received messages a socket may have waiting
	// for processing; one that sends more before the server catches up
	// is closed (1008). Default DefaultInboxSize (1024). The inbox holds
	// only what waits: an idle socket costs nothing for it.
	InboxSize int
	// GCHeadroom is how far, in bytes, the Go heap may grow above what was
	// live at the last collection before the garbage collector runs again
	// (default DefaultGCHeadroom, 16 MiB; negative: leave the collector
	// as it is). GOGC alone lets a small heap grow by as little as 4 MiB,
	// and the server's live heap is small until thousands of sockets are
	// open, so under load the collector ran tens of times a second. While
	// the server runs it sets the process's GC percent
	// (debug.SetGCPercent) after each collection, never below the percent
	// it found; a large live heap is collected as GOGC says. It does
	// nothing when the GOGC environment variable is set; GOMEMLIMIT still
	// caps the heap. One per process: servers running in the same process
	// share the largest.
	GCHeadroom int64
}

// Server is the embedded Interval server. It is an http.Handler; create it
// with New and end it with Shutdown or Close.
type Server struct {
	opts    Options
	log     *slog.Logger
	store   store.Store
	public  *url.URL // nil when PublicURL is empty
	proxies proxies  // Options.TrustedProxies
	router  chi.Router
	org     orgInfo
	hub     *hub
	upDir   string
	firstRn string
	mail    *mailer  // nil without Options.SMTPURL
	slack   *slacker // nil without Options.SlackToken
	release func()   // gives up the claim on the store (store.Claimer)
	cl      *cluster // with replicas (a PostgreSQL store); nil on SQLite

	mu      sync.Mutex
	closing bool
	conns   map[*endpoint]struct{}
	wg      sync.WaitGroup // websocket handlers and closers
	// pinger pings every socket from one goroutine, stopped by end
	// (once no socket is left).
	pinger   *wsa.Pinger
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup // background loops
	endOnce  sync.Once
	endErr   error
	ended    atomic.Bool
	draining atomic.Bool // Drain was called: /readyz says so, work goes on

	// Calls per second allowed on one socket and its inbox's size
	// (Options; benchmarks raise them).
	hostRate, browserRate socketLimits
	apiLimits             keyLimiter // host HTTP API calls per key
	// logins limits password logins per email, per client and in all.
	logins *loginThrottle
	// metrics are the Prometheus metrics (metrics.go).
	metrics *metrics
	// saves is the group commit of transaction writes (savequeue.go).
	saves *store.GroupCommit
	// trim returns memory to the system after a burst of socket closes.
	trim *memTrim
}

type orgInfo struct{ Name, Slug string }

// New opens the store, recovers unfinished transactions (they wait for
// their host as HOST_DROPPED) and, on an empty store, creates the admin
// user; FirstRunLoginLink then returns a one-time login link for it.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, fmt.Errorf("%w: DataDir is required", ErrBadOptions)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OrgName == "" {
		opts.OrgName = DefaultOrgName
	}
	if opts.AdminEmail == "" {
		opts.AdminEmail = DefaultAdminEmail
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if opts.UploadRetention == 0 {
		opts.UploadRetention = DefaultUploadRetention
	}
	if opts.UploadDiskReserve <= 0 {
		opts.UploadDiskReserve = DefaultUploadDiskReserve
	}
	if opts.HostDropGrace <= 0 {
		opts.HostDropGrace = DefaultHostDropGrace
	}
	if opts.HostReturnWait <= 0 {
		opts.HostReturnWait = DefaultHostReturnWait
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.ReplicaLease <= 0 {
		opts.ReplicaLease = DefaultReplicaLease
	}
	if opts.ReplicaHeartbeat <= 0 {
		opts.ReplicaHeartbeat = DefaultReplicaHeartbeat
	}
	if opts.ReplicaHeartbeat*2 > opts.ReplicaLease {
		return nil, fmt.Errorf("%w: ReplicaHeartbeat %v must be at most half of ReplicaLease %v", ErrBadOptions, opts.ReplicaHeartbeat, opts.ReplicaLease)
	}
	if opts.MetricsMaxActions <= 0 {
		opts.MetricsMaxActions = DefaultMetricsMaxActions
	}
	if opts.CommitDelay < 0 || opts.CommitDelay > MaxCommitDelay {
		// Every acknowledgement waits for it under load: a mistaken
		// hour would look like a hung server.
		return nil, fmt.Errorf("%w: CommitDelay %v must be from 0 to %v", ErrBadOptions, opts.CommitDelay, MaxCommitDelay)
	}
	hostLim, browserLim, err := limitsFrom(&opts)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger, conns: map[*endpoint]struct{}{},
		hostRate: hostLim, browserRate: browserLim, logins: newLoginThrottle(),
		pinger: wsa.NewPinger()}
	s.org = orgInfo{Name: opts.OrgName, Slug: slugify(opts.OrgName)}
	s.metrics = newMetrics(s, opts.MetricsMaxActions)
	if opts.PublicURL != "" {
		u, err := url.Parse(strings.TrimRight(opts.PublicURL, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: PublicURL %q must be an absolute http(s) URL", ErrBadOptions, opts.PublicURL)
		}
		s.public = u
	}
	ps, err := parseProxies(opts.TrustedProxies)
	if err != nil {
		return nil, err
	}
	s.proxies = ps
	if opts.SMTPURL != "" {
		m, err := newMailer(opts.SMTPURL, opts.SMTPFrom)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadOptions, err)
		}
		s.mail = m
	}
	if opts.SlackToken != "" {
		sl, err := newSlacker(opts.SlackToken, opts.SlackAPIURL)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadOptions, err)
		}
		s.slack = sl
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data dir: %w", err)
	}
	// Said plainly here rather than as SQLite's "unable to open database
	// file" or a failed upload later.
	if f, err := os.CreateTemp(opts.DataDir, ".write-check-*"); err != nil {
		return nil, fmt.Errorf("server: data dir %s is not writable: %w", opts.DataDir, err)
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	s.upDir = filepath.Join(opts.DataDir, "uploads")
	if opts.Store != nil {
		s.store = opts.Store
	} else {
		st, err := store.OpenURL(ctx, opts.DataDir, opts.DatabaseURL)
		if errors.Is(err, store.ErrUnsupportedURL) {
			return nil, fmt.Errorf("%w: DatabaseURL: %w", ErrBadOptions, err)
		}
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		s.store = st
	}
	s.saves = s.newGroupCommit(s.store)
	s.trim = newMemTrim(s.ended.Load)
	s.store = &instrumentedStore{Store: s.saves, m: s.metrics}
	s.hub = newHub(s)
	if bs, ok := unwrapStore(s.store).(busStore); ok && !opts.AdminOnly {
		// Every server on this database is a replica of one
		// installation: this one holds no run until it takes one.
		if err := s.joinCluster(ctx, bs); err != nil {
			s.store.Close()
			return nil, err
		}
		if afterJoin != nil {
			afterJoin()
		}
	} else if !opts.AdminOnly {
		// One server at a time serves from a store: recover below takes
		// every unfinished transaction as this server's own.
		if c, ok := unwrapStore(s.store).(store.Claimer); ok {
			release, err := c.Claim(ctx)
			if err != nil {
				s.store.Close()
				return nil, fmt.Errorf("server: %w", err)
			}
			s.release = release
		}
		if err := s.hub.recover(ctx); err != nil {
			s.closeStore()
			return nil, err
		}
	}
	s.notePublicURL(ctx)
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		s.closeStore()
		return nil, fmt.Errorf("server: %w", err)
	}
	if n == 0 {
		_, link, err := s.EnsureAdmin(ctx)
		if err != nil {
			s.closeStore()
			return nil, err
		}
		s.firstRn = link
		s.log.Info("first start: created the admin user; use the one-time login link printed by the program", "email", opts.AdminEmail)
	}
	s.router = s.routes()
	bg, cancel := context.WithCancel(context.Background())
	s.bgCancel = cancel
	if opts.AdminOnly {
		s.closing = true
		return s, nil
	}
	s.logins.prepareDummy()
	if s.cl != nil {
		s.cl.start()
	}
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		s.hub.sweepLoop(bg)
	}()
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		s.hub.httpHostLoop(bg)
	}()
	if opts.GCHeadroom == 0 {
		opts.GCHeadroom = DefaultGCHeadroom
	}
	startGCHeadroom(s, opts.GCHeadroom)
	return s, nil
}

// ServeHTTP serves the console, its API, the host API, /websocket and the
// health endpoints (HealthzPath, ReadyzPath).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveHealth(w, r) {
		return
	}
	if s.opts.AdminOnly {
		writeErr(w, http.StatusServiceUnavailable, "This server was opened for administration only.")
		return
	}
	if s.serveMetricsAuthorized(w, r) {
		return
	}
	if s.isClosing() {
		w.Header().Set("Connection", "close")
		writeErr(w, http.StatusServiceUnavailable, "The server is shutting down.")
		return
	}
	s.router.ServeHTTP(w, r)
}

// URL is the server's public URL (Options.PublicURL without a trailing
// slash; with AdminOnly and no PublicURL, the one the last serving server
// recorded), or "" when there is none.
func (s *Server) URL() string {
	if s.public == nil {
		return ""
	}
	return s.public.String()
}

// notePublicURL records a serving server's public URL in the store or,
// opened for administration without one, adopts the recorded one.
func (s *Server) notePublicURL(ctx context.Context) {
	if !s.opts.AdminOnly {
		if s.public == nil {
			return
		}
		if err := s.store.SetSetting(ctx, store.SettingPublicURL, s.public.String()); err != nil {
			s.log.Warn("could not record the public URL; administration commands may print links to another address", "err", err)
		}
		return
	}
	if s.public != nil {
		return
	}
	v, err := s.store.Setting(ctx, store.SettingPublicURL)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("could not read the recorded public URL", "err", err)
		}
		return
	}
	if u, err := url.Parse(v); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		s.public = u
	}
}

// FirstRunLoginLink is the one-time login link of the admin created by New
// on an empty store, or "" when the store already had users.
func (s *Server) FirstRunLoginLink() string { return s.firstRn }

// baseURL is the public URL, or one derived from the request.
func (s *Server) baseURL(r *http.Request) string {
	if s.public != nil {
		return s.public.String()
	}
	if r != nil {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return scheme + "://" + r.Host
	}
	return ""
}

// Drain marks the server as leaving before Shutdown: /readyz answers 503
// ("draining") so that a load balancer stops sending it new hosts and
// browsers, while everything it serves goes on as before. A process
// calls it on SIGTERM, waits for its load balancer to notice (a few of its
// probe intervals), then calls Shutdown.
func (s *Server) Drain() {
	if !s.draining.Swap(true) {
		s.log.Info("draining: /readyz answers 503; still serving until the shutdown")
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown stops accepting sockets, closes every host and browser socket
// with 1012 ("Closing briefly for scheduled server restart.") and waits for
// them to end, or for ctx. Hosts' unfinished transactions stay in the store
// as HOST_DROPPED, so hosts that reconnect to the restarted server carry on.
// When ctx ends first Shutdown returns its error; call Close to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginClose(0)
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("server: shutdown: %w", ctx.Err())
	}
	return s.end()
}

// Close closes every socket at once and releases the store. Each socket
// gets its close frame (1012), but a peer that does not answer it within
// closeCut (one that stopped reading) is cut off rather than waited for.
func (s *Server) Close() error {
	s.beginClose(closeCut)
	s.wg.Wait()
	return s.end()
}

// closeCut is how long Close waits for a peer's answer to its close frame
// (Shutdown waits up to 5 s, within its context): a live peer answers
// within a round trip.
const closeCut = 500 * time.Millisecond

const restartReason = "Closing briefly for scheduled server restart."

// beginClose refuses new sockets and closes every socket with 1012; cut,
// when positive, bounds each close's wait for its peer's close frame
// (isocket.Conn.Cut).
func (s *Server) beginClose(cut time.Duration) {
	s.mu.Lock()
	s.closing = true
	conns := make([]*endpoint, 0, len(s.conns))
	for e := range s.conns {
		conns = append(conns, e)
	}
	s.mu.Unlock()
	for _, e := range conns {
		if cut > 0 {
			e.conn.Cut(cut)
		}
		// run closes the socket; Close and Shutdown differ in waiting.
		e.closeWith(1012, restartReason)
	}
}

func (s *Server) end() error {
	s.endOnce.Do(func() {
		s.ended.Store(true)
		stopGCHeadroom(s)
		s.bgCancel()
		s.bgWG.Wait()
		s.pinger.Close()
		s.hub.mu.Lock()
		if n := s.hub.retrySaves(); n > 0 {
			s.log.Error("closing with transactions whose state the store did not take", "count", n)
		}
		s.hub.mu.Unlock()
		if err := s.closeStore(); err != nil {
			s.endErr = fmt.Errorf("server: closing store: %w", err)
		}
	})
	return s.endErr
}

// closeStore closes the store and gives up the claim on it.
func (s *Server) closeStore() error {
	if s.cl != nil {
		// The runs' last states are committed before the others adopt
		// them.
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		if s.saves != nil {
			s.saves.Sync(ctx)
		}
		cancel()
		s.cl.stop()
	}
	err := s.store.Close()
	if s.release != nil {
		s.release()
	}
	return err
}
