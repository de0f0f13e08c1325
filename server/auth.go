package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/server/store"
)

// SessionCookie is the name of the console's session cookie.
const SessionCookie = "interval_session"

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n random characters of alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	// 256 % 62 bias is negligible for keys of 48 characters; reject to be exact.
	out := make([]byte, 0, n)
	max := 256 - 256%len(alphabet)
	for len(out) < n {
		for _, c := range b {
			if int(c) < max && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
		if _, err := rand.Read(b); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err))
		}
	}
	return string(out)
}

// newTxID returns a 21-character id like Interval's nanoids.
func newTxID() string {
	return randomString(21, alnum+"_-")
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slugify(s string) string {
	s = strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		return "org"
	}
	return s
}

// maxEmailBytes bounds an email address (RFC 5321 allows 254).
const maxEmailBytes = 320

func validRole(r string) bool {
	return r == store.RoleAdmin || r == store.RoleDeveloper || r == store.RoleMember
}

func validEnv(e string) bool {
	return e == store.EnvDevelopment || e == store.EnvProduction
}

// EnsureAdmin creates the admin user (Options.AdminEmail) when the store
// has no admin, and returns the admin's email with a fresh one-time login
// link (valid 24 hours).
func (s *Server) EnsureAdmin(ctx context.Context) (email string, loginLink string, err error) {
	if s.ended.Load() {
		return "", "", ErrServerClosed
	}
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return "", "", fmt.Errorf("server: ensure admin: %w", err)
	}
	var admin *store.User
	for i := range users {
		if users[i].Role == store.RoleAdmin {
			admin = &users[i]
			break
		}
	}
	if admin == nil {
		u := store.User{ID: uuid.NewString(), Email: s.opts.AdminEmail, FirstName: "Admin", Role: store.RoleAdmin, CreatedAt: time.Now()}
		err := s.store.CreateUser(ctx, u)
		if errors.Is(err, store.ErrConflict) {
			// Another replica starting at the same moment created it.
			existing, uerr := s.store.UserByEmail(ctx, u.Email)
			if uerr == nil && existing.Role == store.RoleAdmin {
				u, err = existing, nil
			}
		}
		if err != nil {
			return "", "", fmt.Errorf("server: creating admin: %w", err)
		}
		admin = &u
	}
	link, err := s.LoginLink(ctx, admin.Email)
	if err != nil {
		return "", "", err
	}
	return admin.Email, link, nil
}

// LoginLink returns a fresh one-time login link for the user with email.
func (s *Server) LoginLink(ctx context.Context, email string) (string, error) {
	if s.ended.Load() {
		return "", ErrServerClosed
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("server: login link for %q: %w", email, ErrNotFound)
		}
		return "", fmt.Errorf("server: login link: %w", err)
	}
	return s.loginLinkFor(ctx, nil, u.ID)
}

func (s *Server) loginLinkFor(ctx context.Context, r *http.Request, userID string) (string, error) {
	tok := randomString(40, alnum)
	if err := s.store.CreateLoginToken(ctx, hashToken(tok), userID, time.Now().Add(DefaultLoginLinkLifetime)); err != nil {
		return "", fmt.Errorf("server: login link: %w", err)
	}
	return s.baseURL(r) + "/login/link?token=" + url.QueryEscape(tok), nil
}

// CreateUser creates a user (role admin, developer or member) with an
// optional password and returns a one-time login link for it.
func (s *Server) CreateUser(ctx context.Context, email, role, password string, teams []string) (loginLink string, err error) {
	if s.ended.Load() {
		return "", ErrServerClosed
	}
	u, err := s.newUser(ctx, email, "", "", role, password, teams)
	if err != nil {
		return "", err
	}
	return s.loginLinkFor(ctx, nil, u.ID)
}

// ErrInvalid is wrapped by errors about invalid input to the helpers.
var ErrInvalid = errors.New("server: invalid input")

func (s *Server) newUser(ctx context.Context, email, first, last, role, password string, teams []string) (store.User, error) {
	email = strings.TrimSpace(email)
	if email == "" || !strings.Contains(email, "@") || len(email) > maxEmailBytes {
		return store.User{}, fmt.Errorf("%w: email %q", ErrInvalid, protocol.Clip(email, 100))
	}
	if !validRole(role) {
		return store.User{}, fmt.Errorf("%w: role %q (admin, developer or member)", ErrInvalid, role)
	}
	u := store.User{ID: uuid.NewString(), Email: email, FirstName: first, LastName: last, Role: role, Teams: cleanTeams(teams), CreatedAt: time.Now()}
	if password != "" {
		if len(password) < 8 {
			return store.User{}, fmt.Errorf("%w: password must have at least 8 characters", ErrInvalid)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
		if err != nil {
			return store.User{}, fmt.Errorf("server: hashing password: %w", err)
		}
		u.PasswordHash = string(h)
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return store.User{}, fmt.Errorf("server: creating user: %w", err)
	}
	return u, nil
}

func cleanTeams(teams []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, t := range teams {
		t = strings.TrimSpace(t)
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// CreateAPIKey creates an API key owned by the user with ownerEmail for env
// ("development": a personal development key whose actions only that user
// sees; "production": a live key) and returns the key. Only its hash is
// stored; the key cannot be shown again.
func (s *Server) CreateAPIKey(ctx context.Context, ownerEmail, env string) (key string, err error) {
	if s.ended.Load() {
		return "", ErrServerClosed
	}
	u, err := s.store.UserByEmail(ctx, ownerEmail)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("server: api key owner %q: %w", ownerEmail, ErrNotFound)
		}
		return "", fmt.Errorf("server: api key owner: %w", err)
	}
	_, key, err = s.createKey(ctx, u.ID, env, "")
	return key, err
}

// CheckAPIKey reports whether key is an API key of this server that is not
// revoked: nil, or an error wrapping ErrNotFound. Programs that keep a key
// between runs (the examples) use it to reuse the key instead of creating
// one each time.
func (s *Server) CheckAPIKey(ctx context.Context, key string) error {
	if _, _, err := s.keyAuth(ctx, key); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("server: api key: %w", ErrNotFound)
		}
		return fmt.Errorf("server: api key: %w", err)
	}
	return nil
}

func (s *Server) createKey(ctx context.Context, userID, env, label string) (id, key string, err error) {
	var prefix string
	switch env {
	case store.EnvDevelopment:
		prefix = "dev_"
	case store.EnvProduction:
		prefix = "live_"
	default:
		return "", "", fmt.Errorf("%w: environment %q (development or production)", ErrInvalid, env)
	}
	key = prefix + randomString(48, alnum)
	k := store.APIKey{ID: uuid.NewString(), UserID: userID, Env: env, Label: label,
		Prefix: key[:len(prefix)+4], CreatedAt: time.Now()}
	if err := s.store.CreateAPIKey(ctx, k, hashToken(key)); err != nil {
		return "", "", fmt.Errorf("server: creating api key: %w", err)
	}
	return k.ID, key, nil
}

// keyAuth looks up an unrevoked API key and its owner. A development key
// works only while its owner may develop (developer or admin): a member
// cannot create one, and a developer made a member keeps none.
func (s *Server) keyAuth(ctx context.Context, key string) (store.APIKey, store.User, error) {
	k, err := s.store.APIKeyByHash(ctx, hashToken(key))
	if err != nil {
		return store.APIKey{}, store.User{}, err
	}
	if k.RevokedAt != nil {
		return store.APIKey{}, store.User{}, fmt.Errorf("api key revoked: %w", store.ErrNotFound)
	}
	u, err := s.store.UserByID(ctx, k.UserID)
	if err != nil {
		return store.APIKey{}, store.User{}, err
	}
	if k.Env == store.EnvDevelopment && u.Role == store.RoleMember {
		return store.APIKey{}, store.User{}, fmt.Errorf("development key of a user who is now a member: %w", store.ErrNotFound)
	}
	return k, u, nil
}

// startSession creates a session for userID and sets its cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, userID string) error {
	tok := randomString(43, alnum)
	exp := time.Now().Add(DefaultSessionLifetime)
	if err := s.store.CreateSession(r.Context(), hashToken(tok), userID, exp); err != nil {
		return fmt.Errorf("server: session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: tok, Path: "/", Expires: exp,
		HttpOnly: true, Secure: s.secureCookies(r), SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *Server) secureCookies(r *http.Request) bool {
	if s.public != nil {
		return s.public.Scheme == "https"
	}
	return r.TLS != nil
}

// sessionUser returns the user of the request's session cookie.
func (s *Server) sessionUser(r *http.Request) (store.User, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return store.User{}, fmt.Errorf("server: no session cookie: %w", store.ErrNotFound)
	}
	// Looked up on every request (a SQLite store keeps the answers until
	// a write could change them), so a session deleted or ended by a
	// password change is refused at once and a role or team change
	// applies to the next request.
	ctx, cancel := context.WithTimeout(r.Context(), storeAnswerTimeout)
	defer cancel()
	return s.store.SessionUser(ctx, hashToken(c.Value), time.Now())
}

// storeAnswerTimeout bounds the store lookups that authenticate a request
// or a socket (a session, an API key): a database that does not answer (a
// network path to it that died, a disk that hangs) gets the client a
// "try again" within it (storeUnavailable), instead of a request that
// hangs or a refusal of a session or key that are valid.
var storeAnswerTimeout = 5 * time.Second

// storeUnavailableMsg is what a client is told when the store failed to
// answer a lookup that authenticates it.
const storeUnavailableMsg = "The server's database did not answer; try again."

// storeUnavailable answers 503 for a request whose authentication the
// store failed to answer (err is not ErrNotFound), and logs it.
func (s *Server) storeUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil {
		s.log.Warn("request not served: the store did not answer its authentication", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Retry-After", "1")
	writeErr(w, http.StatusServiceUnavailable, storeUnavailableMsg)
}

// originOK reports whether a browser socket's Origin is the console's:
// the public URL's origin, or the origin the request was made to. Scheme,
// host name and port are compared: https://host:8080 is another origin
// than http://host:8080.
func (s *Server) originOK(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return false
	}
	if s.public != nil && sameOrigin(u, s.public) {
		return true
	}
	// Same origin as the request (the console opened at another name of
	// this server, say localhost for 127.0.0.1). A foreign page cannot
	// pass: its Origin is its own, and the session cookie is not sent to
	// a host name it was not set for.
	return sameOrigin(u, &url.URL{Scheme: s.requestScheme(r), Host: r.Host})
}

// bcryptCost is the cost of password hashes (lowered by tests only).
var bcryptCost = bcrypt.DefaultCost
