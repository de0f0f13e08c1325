// Package pgtest runs a throwaway PostgreSQL server for tests, from the
// binaries of a local installation (Debian's postgresql package; no
// container, no mock). The server listens only on a Unix socket in its own
// temporary directory, requires a password (so tests see real
// authentication) and runs with fsync off: it is for tests only.
//
// A test package starts one server for all its tests and stops it in
// TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pgtest.StopShared()
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) {
//		url := pgtest.NewDatabase(t) // an empty database on the shared server
//		...
//	}
//
// When run as root (initdb refuses root), the PostgreSQL programs run as
// the postgres system user.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled is returned when initdb and postgres cannot be found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL not found (initdb and postgres in PATH or /usr/lib/postgresql/*/bin): install Debian's postgresql package (apt-get install postgresql)")

// User is the superuser of the servers pgtest starts.
const User = "postgres"

// startTimeout bounds the start of a server.
const startTimeout = 60 * time.Second

// Server is a running PostgreSQL server.
type Server struct {
	// Dir holds the cluster (Dir/data), the socket and the log (Dir/log).
	Dir string
	// Password is the password of User.
	Password string

	cmd  *exec.Cmd
	done chan struct{} // closed when the postgres process has exited
	dbs  atomic.Int64
	stop sync.Once
}

// libGlob is where Debian installs the PostgreSQL programs (a variable for
// tests).
var libGlob = "/usr/lib/postgresql/*/bin"

// FindBin returns the directory holding initdb and postgres: that of
// initdb in PATH, else the newest /usr/lib/postgresql/*/bin.
func FindBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		for _, dir := range []string{filepath.Dir(p), resolvedDir(p)} {
			if isExec(filepath.Join(dir, "postgres")) {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob(libGlob)
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if isExec(filepath.Join(dir, "initdb")) && isExec(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", ErrNotInstalled
}

func resolvedDir(p string) string {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		return filepath.Dir(p)
	}
	return filepath.Dir(r)
}

func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Start initializes a cluster in a new temporary directory and starts
// postgres on it. Stop it with Stop.
func Start() (*Server, error) {
	bin, err := FindBin()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs the postgres system user (%w); %w", err, ErrNotInstalled)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	}
	// A short directory: the socket path must fit in 107 bytes.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if len(dir) > 80 {
		os.RemoveAll(dir)
		if dir, err = os.MkdirTemp("/tmp", "pgtest-"); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	s := &Server{Dir: dir, done: make(chan struct{})}
	if err := s.start(bin, cred); err != nil {
		s.cleanup()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(bin string, cred *syscall.Credential) error {
	pw := make([]byte, 16)
	rand.Read(pw)
	s.Password = "pgtest-" + hex.EncodeToString(pw)
	pwFile := filepath.Join(s.Dir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(s.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if cred != nil {
		for _, p := range []string{s.Dir, pwFile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("pgtest: making %s the postgres user's: %w", p, err)
			}
		}
	}
	data := filepath.Join(s.Dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", User, "--pwfile", pwFile,
		"--auth", "scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = s.Dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	os.Remove(pwFile)
	logPath := filepath.Join(s.Dir, "log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=", "-c", "unix_socket_directories="+s.Dir, "-c", "port=5432",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB")
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig: should the test binary die without Stop, postgres does a
	// fast shutdown instead of outliving it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: starting postgres: %w", err)
	}
	s.cmd = cmd
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		c, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("pgtest: postgres exited: %s\n%s", cmd.ProcessState, s.Log())
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres did not accept connections within %s: %w\n%s", startTimeout, err, s.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Log returns the end of the server's log.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// URL returns the connection URL of database db as User (with the
// password) over the server's Unix socket.
func (s *Server) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(User, s.Password), Path: "/" + db,
		RawQuery: url.Values{"host": {s.Dir}, "sslmode": {"disable"}}.Encode()}
	return u.String()
}

// CreateDatabase creates a new empty database and returns its URL.
func (s *Server) CreateDatabase(ctx context.Context) (string, error) {
	name := "test_" + strconv.FormatInt(s.dbs.Add(1), 10)
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return s.URL(name), nil
}

// Stop stops the server (fast shutdown: clients are disconnected) and
// removes its directory.
func (s *Server) Stop() error {
	var err error
	s.stop.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-s.done:
			case <-time.After(30 * time.Second):
				s.cmd.Process.Kill()
				<-s.done
				err = fmt.Errorf("pgtest: postgres did not stop within 30s; killed")
			}
		}
		s.cleanup()
	})
	return err
}

func (s *Server) cleanup() {
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	os.RemoveAll(s.Dir)
}

var shared struct {
	once sync.Once
	mu   sync.Mutex
	s    *Server
	err  error
}

// Shared returns this process's shared server, starting it on first use.
// It fails tb, with an error that says what to install, when PostgreSQL
// cannot be started. Stop it with StopShared at the end of TestMain.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() {
		s, err := Start()
		shared.mu.Lock()
		shared.s, shared.err = s, err
		shared.mu.Unlock()
	})
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.err != nil {
		tb.Fatalf("PostgreSQL is required for this test: %v", shared.err)
	}
	if shared.s == nil {
		tb.Fatal("pgtest: the shared server was stopped")
	}
	return shared.s
}

// StopShared stops the shared server if Shared started it.
func StopShared() {
	shared.mu.Lock()
	s := shared.s
	shared.s = nil
	shared.mu.Unlock()
	if s != nil {
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
}

// NewDatabase creates an empty database on the shared server and returns
// its URL. Databases live until the server stops.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	s := Shared(tb)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	u, err := s.CreateDatabase(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
