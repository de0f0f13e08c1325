// Command interval-server runs the embedded Interval server on its own:
// hosts (this project's Go SDK or the official Node SDK) connect to
// ws://ADDR/websocket with an API key, operators use the web console.
//
//	interval-server [--addr 127.0.0.1:8080] [--data-dir DIR] [--public-url URL] [--database-url URL] [--smtp-url URL --smtp-from ADDR] [--slack-token T] [--metrics-addr ADDR] [--metrics-token T]
//	interval-server key create --data-dir DIR --env development|production [--email E]
//	interval-server user create --data-dir DIR --email E --role admin|developer|member [--password P] [--teams a,b]
//	interval-server user link --data-dir DIR [--email E]   (a fresh one-time login link; default: the admin)
//
// The store is the SQLite file in --data-dir unless --database-url names a
// PostgreSQL database (postgres://user:password@host:5432/db) or another
// SQLite file (sqlite:PATH); the subcommands take the same flags. Uploads
// stay in --data-dir.
//
// With --smtp-url, notifications are also delivered by email; with
// --slack-token (a Slack app's bot token, better passed as
// INTERVAL_SLACK_TOKEN than on a command line others can list), their
// SLACK deliveries are posted to Slack.
//
// /healthz and /readyz answer on --addr. Prometheus metrics are off the
// main listener, which browsers reach: --metrics-addr serves /metrics (and
// /healthz, /readyz) on a listener of its own, for the monitoring network
// only; --metrics-token (better INTERVAL_METRICS_TOKEN) serves them on
// --addr too, to "Authorization: Bearer TOKEN" only. See
// docs/operations.md.
//
// Every flag of serve has an environment variable, which the flag
// overrides: --addr INTERVAL_ADDR, --data-dir INTERVAL_DATA_DIR,
// --database-url INTERVAL_DATABASE_URL, --public-url INTERVAL_PUBLIC_URL,
// --smtp-url INTERVAL_SMTP_URL, --smtp-from INTERVAL_SMTP_FROM,
// --slack-token INTERVAL_SLACK_TOKEN, --upload-retention
// INTERVAL_UPLOAD_RETENTION, --max-upload-mib INTERVAL_MAX_UPLOAD_MIB,
// --metrics-addr INTERVAL_METRICS_ADDR, --metrics-token
// INTERVAL_METRICS_TOKEN. The
// subcommands read the same INTERVAL_DATA_DIR, INTERVAL_DATABASE_URL and
// INTERVAL_PUBLIC_URL (and user create INTERVAL_USER_PASSWORD); their
// --env, --email, --role and --teams have none. The subcommands print the new
// key or login link as their last line, for scripts. Their links use
// --public-url, else the URL the server last served at (a serving server
// records it in the store), else http://$INTERVAL_ADDR, else
// http://127.0.0.1:8080.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/interval-go/sdk/server"
	"github.com/interval-go/sdk/server/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one ends the process at once (the
	// graceful shutdown may wait up to 30 s; the store loses nothing).
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the usage was printed
		}
		fmt.Fprintln(os.Stderr, "interval-server:", err)
		os.Exit(2)
	}
}

// errUsage is returned for a bad command line.
var errUsage = errors.New("usage")

const commands = `Usage:
  interval-server [flags]                serve (interval-server -h for the flags)
  interval-server key create [flags]     create an API key
  interval-server user create [flags]    create a console user
  interval-server user link [flags]      print a fresh one-time login link
Each command takes -h for its flags.
`

// parse parses a command's flags; arguments left over are an error (a
// misspelt flag value would otherwise be ignored).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q (flags are -name value; -h lists them)", errUsage, fs.Arg(0))
	}
	return nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// envInt is env for a whole number.
func envInt(name string, def int64) (int64, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not a whole number", errUsage, name, v)
	}
	return n, nil
}

// envDuration is env for a duration.
func envDuration(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not a duration (like 720h)", errUsage, name, v)
	}
	return d, nil
}

type common struct {
	dataDir, databaseURL, publicURL string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", env("INTERVAL_DATA_DIR", "interval-data"), "directory of the SQLite file and uploads (env INTERVAL_DATA_DIR)")
	fs.StringVar(&c.databaseURL, "database-url", env("INTERVAL_DATABASE_URL", ""), "database URL: postgres://user:password@host/db for PostgreSQL, sqlite:PATH for another SQLite file; default the SQLite file in --data-dir (env INTERVAL_DATABASE_URL)")
	fs.StringVar(&c.publicURL, "public-url", env("INTERVAL_PUBLIC_URL", ""), publicURLUsage)
}

const defaultAddr = "127.0.0.1:8080"

// publicURLUsage is the --public-url help of serve; the subcommands
// replace it with adminPublicURLUsage.
const (
	publicURLUsage      = "URL browsers use to reach the server (env INTERVAL_PUBLIC_URL; default http://ADDR); recorded in the store for the links of the subcommands"
	adminPublicURLUsage = "URL browsers use to reach the server, for the printed links (env INTERVAL_PUBLIC_URL; default: the URL the server last served at, recorded in the store, else http://$INTERVAL_ADDR, else http://" + defaultAddr + ")"
)

// registerAdmin registers the flags of the subcommands.
func (c *common) registerAdmin(fs *flag.FlagSet) {
	c.register(fs)
	fs.Lookup("public-url").Usage = adminPublicURLUsage
}

// adminFlags returns the flag set of an administration subcommand, with the
// flags every subcommand takes; the subcommand adds its own. synopsis and
// about head its -h.
func adminFlags(name, synopsis, about string, stderr io.Writer) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := new(common)
	c.registerAdmin(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage:\n  interval-server %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.PrintDefaults()
	}
	return fs, c
}

// openAdmin parses a subcommand's arguments, runs its own checks (check may
// be nil) and opens the store for administration. The caller closes it.
func openAdmin(ctx context.Context, fs *flag.FlagSet, c *common, args []string, check func() error) (*server.Server, error) {
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, err
		}
	}
	return open(ctx, *c)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) >= 2 && args[0] == "key" && args[1] == "create" {
		return keyCreate(ctx, args[2:], stdout, stderr)
	}
	if len(args) >= 2 && args[0] == "user" && args[1] == "create" {
		return userCreate(ctx, args[2:], stdout, stderr)
	}
	if len(args) >= 2 && args[0] == "user" && args[1] == "link" {
		return userLink(ctx, args[2:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "help" {
		fmt.Fprint(stdout, commands)
		return nil
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, commands)
		return fmt.Errorf("%w: unknown command %q", errUsage, strings.Join(args[:min(2, len(args))], " "))
	}
	return serve(ctx, args, stdout, stderr)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("interval-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	addr := fs.String("addr", env("INTERVAL_ADDR", defaultAddr), "listen address (env INTERVAL_ADDR)")
	smtpURL := fs.String("smtp-url", env("INTERVAL_SMTP_URL", ""), "mail notifications through this SMTP server: smtp://user:password@host:587 or smtps://…:465 (env INTERVAL_SMTP_URL)")
	smtpFrom := fs.String("smtp-from", env("INTERVAL_SMTP_FROM", ""), `sender of notification emails, "Interval <interval@example.com>" (env INTERVAL_SMTP_FROM)`)
	retention, err := envDuration("INTERVAL_UPLOAD_RETENTION", server.DefaultUploadRetention)
	if err != nil {
		return err
	}
	uploadRetention := fs.Duration("upload-retention", retention, "how long uploaded files are kept, e.g. 720h; negative keeps them forever (env INTERVAL_UPLOAD_RETENTION)")
	drainDef, err := envDuration("INTERVAL_DRAIN_DELAY", 0)
	if err != nil {
		return err
	}
	drainDelay := fs.Duration("drain-delay", drainDef, "on SIGTERM or SIGINT, answer 503 on /readyz and keep serving this long before shutting down, so a load balancer stops sending new sockets first, e.g. 10s (env INTERVAL_DRAIN_DELAY; default 0)")
	maxMiB, err := envInt("INTERVAL_MAX_UPLOAD_MIB", server.DefaultMaxUploadBytes>>20)
	if err != nil {
		return err
	}
	maxUploadMiB := fs.Int64("max-upload-mib", maxMiB, "largest file an operator may upload, in MiB (env INTERVAL_MAX_UPLOAD_MIB)")
	trustedProxies := fs.String("trusted-proxies", env("INTERVAL_TRUSTED_PROXIES", ""), "comma-separated addresses or prefixes (10.0.0.0/8) of reverse proxies in front of the server, whose X-Forwarded-For and X-Forwarded-Proto are believed; login limits count by the client address they give (env INTERVAL_TRUSTED_PROXIES; default none)")
	metricsAddr := fs.String("metrics-addr", env("INTERVAL_METRICS_ADDR", ""), "serve Prometheus metrics at http://ADDR/metrics (and /healthz, /readyz) on a listener of their own, e.g. 127.0.0.1:9464 or an internal address; default none (env INTERVAL_METRICS_ADDR)")
	metricsToken := fs.String("metrics-token", env("INTERVAL_METRICS_TOKEN", ""), "also serve /metrics on --addr, to requests with Authorization: Bearer TOKEN only (env INTERVAL_METRICS_TOKEN, which keeps it out of process listings)")
	leaseDef, err := envDuration("INTERVAL_REPLICA_LEASE", server.DefaultReplicaLease)
	if err != nil {
		return err
	}
	replicaLease := fs.Duration("replica-lease", leaseDef, "with PostgreSQL (--database-url postgres://…), every server on the database is a replica of one installation; a replica that stops renewing its lease for this long is taken for dead and the others adopt its runs (env INTERVAL_REPLICA_LEASE; heartbeats every fifth of it)")
	hostCalls, err := envInt("INTERVAL_HOST_CALLS_PER_SECOND", server.DefaultHostCallsPerSecond)
	if err != nil {
		return err
	}
	hostCallsPerSecond := fs.Int64("host-calls-per-second", hostCalls, "calls of a host socket the server reads in one second (the rest waits for the next); a run costs a host 2 (env INTERVAL_HOST_CALLS_PER_SECOND)")
	browserCalls, err := envInt("INTERVAL_BROWSER_CALLS_PER_SECOND", server.DefaultBrowserCallsPerSecond)
	if err != nil {
		return err
	}
	browserCallsPerSecond := fs.Int64("browser-calls-per-second", browserCalls, "calls a console socket may make a second, on average over bursts of up to two seconds' worth, before it is closed (env INTERVAL_BROWSER_CALLS_PER_SECOND)")
	inbox, err := envInt("INTERVAL_INBOX_SIZE", server.DefaultInboxSize)
	if err != nil {
		return err
	}
	inboxSize := fs.Int64("inbox-size", inbox, "received messages a socket may have waiting for the server before it is closed (env INTERVAL_INBOX_SIZE)")
	delayDef, err := envDuration("INTERVAL_COMMIT_DELAY", 0)
	if err != nil {
		return err
	}
	commitDelay := fs.Duration("commit-delay", delayDef, "under load, how long a commit of runs' changes waits for more to share it, as PostgreSQL's commit_delay: fewer fsyncs and less CPU on a fast disk, that much more latency (a lone run's commits never wait); 0 commits at once (env INTERVAL_COMMIT_DELAY)")
	logLevel := fs.String("log-level", env("INTERVAL_LOG_LEVEL", "info"), "the least severe log lines written: debug, info, warn or error (env INTERVAL_LOG_LEVEL)")
	slackToken := fs.String("slack-token", env("INTERVAL_SLACK_TOKEN", ""), "post SLACK notification deliveries with this Slack bot token, xoxb-… (env INTERVAL_SLACK_TOKEN, which keeps it out of process listings)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), commands, "\nFlags of serve:\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *replicaLease < 500*time.Millisecond {
		return fmt.Errorf("%w: --replica-lease (INTERVAL_REPLICA_LEASE) must be at least 500ms", errUsage)
	}
	if *maxUploadMiB <= 0 || *maxUploadMiB > 1<<30 {
		return fmt.Errorf("%w: --max-upload-mib (INTERVAL_MAX_UPLOAD_MIB) must be from 1 to %d", errUsage, 1<<30)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level (INTERVAL_LOG_LEVEL) must be debug, info, warn or error, not %q", errUsage, *logLevel)
	}
	if *commitDelay < 0 || *commitDelay > server.MaxCommitDelay {
		return fmt.Errorf("%w: --commit-delay (INTERVAL_COMMIT_DELAY) must be from 0 to %v", errUsage, server.MaxCommitDelay)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"host-calls-per-second", *hostCallsPerSecond}, {"browser-calls-per-second", *browserCallsPerSecond}, {"inbox-size", *inboxSize}} {
		if f.v < 1 || f.v > 1<<30 {
			return fmt.Errorf("%w: --%s must be from 1 to %d", errUsage, f.name, 1<<30)
		}
	}
	proxies := splitList(*trustedProxies)
	for _, p := range proxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return fmt.Errorf("%w: --trusted-proxies (INTERVAL_TRUSTED_PROXIES): %q is neither an IP address nor a prefix like 10.0.0.0/8", errUsage, p)
			}
		}
	}
	l, err := net.Listen("tcp", *addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen: %w (another server, or another program, uses %s: pick another with --addr or INTERVAL_ADDR)", err, *addr)
	}
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var ml net.Listener
	if *metricsAddr != "" {
		ml, err = net.Listen("tcp", *metricsAddr)
		if err != nil {
			l.Close()
			return fmt.Errorf("metrics listener (--metrics-addr, INTERVAL_METRICS_ADDR): %w", err)
		}
	}
	public := c.publicURL
	if public == "" {
		host, port, _ := net.SplitHostPort(l.Addr().String())
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = "localhost"
		}
		public = "http://" + net.JoinHostPort(host, port)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	s, err := server.New(ctx, server.Options{DataDir: c.dataDir, DatabaseURL: c.databaseURL, PublicURL: public, Logger: log,
		SMTPURL: *smtpURL, SMTPFrom: *smtpFrom, SlackToken: *slackToken, UploadRetention: *uploadRetention, MaxUploadBytes: *maxUploadMiB << 20,
		TrustedProxies: proxies, MetricsToken: *metricsToken, ReplicaLease: *replicaLease, ReplicaHeartbeat: *replicaLease / 5,
		HostCallsPerSecond: int(*hostCallsPerSecond), BrowserCallsPerSecond: int(*browserCallsPerSecond), InboxSize: int(*inboxSize), CommitDelay: *commitDelay})
	if err != nil {
		l.Close()
		if ml != nil {
			ml.Close()
		}
		return err
	}
	if c.databaseURL != "" {
		log.Info("store", "database", store.RedactURL(c.databaseURL))
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute} // no ReadTimeout: websockets and large uploads
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	var ms *http.Server
	metricsDone := make(chan struct{})
	if ml != nil {
		ms = &http.Server{Handler: s.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			defer close(metricsDone)
			ms.Serve(ml)
		}()
		fmt.Fprintf(stdout, "Metrics: http://%s%s\n", ml.Addr(), server.MetricsPath)
	} else {
		close(metricsDone)
	}
	fmt.Fprintf(stdout, "Interval server: %s (hosts connect to %s/websocket)\n", s.URL(), "ws"+strings.TrimPrefix(s.URL(), "http"))
	if link := s.FirstRunLoginLink(); link != "" {
		fmt.Fprintf(stdout, "First start: log in as the admin with this one-time link:\n%s\n", link)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	if *drainDelay > 0 && serveErr == nil {
		s.Drain()
		log.Info("draining before the shutdown; a second interrupt quits at once", "delay", *drainDelay)
		time.Sleep(*drainDelay) // a second signal ends the process (see run)
	}
	log.Info("shutting down; a second interrupt quits at once")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	if err := s.Shutdown(sctx); err != nil {
		log.Warn("graceful shutdown incomplete; closing", "err", err)
		s.Close()
	}
	if ms != nil {
		// Last: the drain shows in the metrics until the end.
		ms.Shutdown(sctx)
	}
	<-metricsDone
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// open opens the store for administration beside a server that may be
// running. Its links use --public-url, else the URL the server last served
// at (recorded in the store), else the address in INTERVAL_ADDR, else
// http://127.0.0.1:8080 (see absLink).
func open(ctx context.Context, c common) (*server.Server, error) {
	return server.New(ctx, server.Options{DataDir: c.dataDir, DatabaseURL: c.databaseURL, PublicURL: c.publicURL, AdminOnly: true})
}

// absLink makes a link of an administration server absolute: links are
// relative when neither --public-url nor a recorded URL gave one, and then
// take INTERVAL_ADDR or the default address, which stderr is told of.
func absLink(s *server.Server, link string, stderr io.Writer) string {
	if s.URL() != "" || !strings.HasPrefix(link, "/") {
		return link
	}
	base := "http://" + env("INTERVAL_ADDR", defaultAddr)
	fmt.Fprintf(stderr, "No server has served from this store yet, so the link assumes %s; pass --public-url (or INTERVAL_PUBLIC_URL) if browsers reach the server elsewhere.\n", base)
	return base + link
}

func keyCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := adminFlags("key create", "--data-dir DIR --env development|production [--email E]",
		"Creates an API key for hosts and prints it as the last line (it is shown only once).\n"+
			"A development key registers actions only for its owner, in the development environment;\n"+
			"a production (live) key registers them for everyone. The owner is the admin unless --email names another user.", stderr)
	envName := fs.String("env", "development", "development or production")
	email := fs.String("email", "", "owner of the key (default: the admin)")
	s, err := openAdmin(ctx, fs, c, args, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	if link := s.FirstRunLoginLink(); link != "" {
		fmt.Fprintf(stdout, "Created the admin user; one-time login link:\n%s\n", absLink(s, link, stderr))
	}
	owner := *email
	if owner == "" {
		if owner, _, err = s.EnsureAdmin(ctx); err != nil {
			return err
		}
	}
	key, err := s.CreateAPIKey(ctx, owner, *envName)
	if errors.Is(err, server.ErrNotFound) {
		return fmt.Errorf("no user with email %s: create one with `interval-server user create` (%w)", owner, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created a %s key for %s (shown once):\n%s\n", *envName, owner, key)
	return nil
}

func userCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := adminFlags("user create", "--data-dir DIR --email E [--role admin|developer|member] [--teams a,b] [--password P]",
		"Creates a console user and prints a one-time login link for it as the last line.", stderr)
	email := fs.String("email", "", "email of the user (required)")
	role := fs.String("role", "member", "admin, developer or member")
	password := fs.String("password", env("INTERVAL_USER_PASSWORD", ""), "password, at least 8 characters (optional; env INTERVAL_USER_PASSWORD)")
	teams := fs.String("teams", "", "comma-separated team slugs")
	s, err := openAdmin(ctx, fs, c, args, func() error {
		if *email == "" {
			return fmt.Errorf("%w: --email is required", errUsage)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer s.Close()
	var ts []string
	if *teams != "" {
		ts = strings.Split(*teams, ",")
	}
	link, err := s.CreateUser(ctx, *email, *role, *password, ts)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("a user with email %s exists already; `interval-server user link --email %s` prints a login link for it (%w)", *email, *email, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created %s (%s); one-time login link:\n%s\n", *email, *role, absLink(s, link, stderr))
	return nil
}

func userLink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := adminFlags("user link", "--data-dir DIR [--email E]",
		"Prints a fresh one-time login link (valid 24 hours) as the last line: for --email, else for the admin\n(created if there is none).", stderr)
	email := fs.String("email", "", "the user (default: the admin, created if there is none)")
	s, err := openAdmin(ctx, fs, c, args, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	var link string
	if *email == "" {
		*email, link, err = s.EnsureAdmin(ctx)
	} else {
		link, err = s.LoginLink(ctx, *email)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "One-time login link for %s:\n%s\n", *email, absLink(s, link, stderr))
	return nil
}
