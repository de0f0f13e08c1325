// Package store is the persistence of the embedded Interval server: users,
// teams, API keys, sessions, login links, transactions with their logs,
// queued actions, serverless (HTTP) hosts, notifications and the audit
// trail. Store is the interface the server uses; Open returns the SQLite
// implementation. Every write is
// committed before the method returns, so anything the server acknowledged
// survives a crash.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors returned by a Store.
var (
	// ErrNotFound is returned when the requested row does not exist (or a
	// one-time token was already used or expired).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when a unique value (email, team slug) is taken.
	ErrConflict = errors.New("store: already exists")
	// ErrFinished is returned by UpdateTransaction when the transaction
	// finished (COMPLETED or CANCELED) and the write would change its
	// status: a run's end is final. The write came from a stale copy of
	// the run, say a replica's that another replica finished.
	ErrFinished = errors.New("store: transaction already finished")
	// ErrNotOwner is returned for a write of a transaction fenced by its
	// owner (Write.Owner) when another replica holds it now: the write
	// came from a stale copy of a replica taken for dead.
	ErrNotOwner = errors.New("store: transaction held by another replica")
)

// Roles of a user.
const (
	RoleAdmin     = "admin"
	RoleDeveloper = "developer"
	RoleMember    = "member"
)

// Environments of API keys, hosts and transactions.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Transaction statuses.
const (
	StatusPending       = "PENDING"
	StatusRunning       = "RUNNING"
	StatusAwaitingInput = "AWAITING_INPUT"
	StatusHostDropped   = "HOST_DROPPED"
	StatusCompleted     = "COMPLETED"
	StatusCanceled      = "CANCELED"
)

// User is an operator or developer of the console.
type User struct {
	ID           string
	Email        string
	FirstName    string
	LastName     string
	Role         string
	Teams        []string // team slugs
	PasswordHash string
	CreatedAt    time.Time
}

// Team is a named group of users; actions may be restricted to teams.
type Team struct {
	Slug string
	Name string
}

// APIKey is the public part of an API key (the key itself is only kept as
// a hash).
type APIKey struct {
	ID        string
	UserID    string
	Env       string
	Label     string
	Prefix    string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Transaction is one run of an action.
type Transaction struct {
	ID             string
	Slug           string
	ActionName     string
	Env            string
	UserID         string
	UserEmail      string
	UserName       string
	DeveloperID    string // owner of the development key, for development runs
	Status         string
	ResultStatus   string
	Params         json.RawMessage
	ParamsMeta     json.RawMessage
	Result         string
	HostInstanceID string
	// HostKeyID is the API key of the host it started on ("" for runs
	// stored before it was kept).
	HostKeyID string
	// ViaHTTPHost is set when a serverless host runs the transaction over
	// a request's connection, which never reconnects.
	ViaHTTPHost bool
	// PendingAnswer is the operator's last answer (an IO response) that
	// the server acknowledged and forwarded to the host, until the host
	// proves it has it; "" when none. Written with every update.
	PendingAnswer string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	CompletedAt   *time.Time
}

// Log is one log line of a transaction.
type Log struct {
	Index     int
	Timestamp int64 // ms since epoch
	Data      string
}

// TransactionFilter selects transactions for ListTransactions and
// CountTransactions. Empty fields select everything.
type TransactionFilter struct {
	Slug      string
	Status    string
	UserEmail string
	Env       string
	// ResultStatus selects completed runs by outcome: SUCCESS (also a
	// completed run without one), FAILURE or REDIRECTED.
	ResultStatus string
	// Search matches, case-insensitively, the action's name and slug, the
	// operator's email and name, and the params' JSON text.
	Search string
	// From and To bound the creation time (ms since epoch; 0 = open),
	// From included, To excluded.
	From, To int64
	// VisibleTo, a user id, hides the development runs of other users.
	VisibleTo string
	Before    string // transaction id; only older ones are returned
	Offset    int    // rows skipped (after Before), for pages
	Limit     int
}

// QueuedAction is an action enqueued for a user to run later.
type QueuedAction struct {
	ID          string
	Slug        string
	Env         string
	DeveloperID string
	Assignee    string // email, or empty for anyone
	Params      json.RawMessage
	ParamsMeta  json.RawMessage
	CreatedAt   time.Time
	DequeuedAt  *time.Time
}

// HTTPHost is a serverless ("HTTP") host an admin registered: a URL the
// server POSTs to, to check it and to have it run actions (PROTOCOL.md
// §3.5). Its routes and reachability live in the server's memory (the host
// declares them again on every check).
type HTTPHost struct {
	ID        string
	URL       string
	Env       string // EnvProduction, as in Interval
	CreatedBy string // user id
	CreatedAt time.Time
}

// Delivery methods of a notification's delivery instructions.
const (
	DeliveryEmail = "EMAIL"
	DeliverySlack = "SLACK"
)

// NotificationDelivery is one delivery instruction of a notification and
// what became of it.
type NotificationDelivery struct {
	To     string `json:"to"`
	Method string `json:"method,omitempty"`
	// Note says why it was not delivered; empty when it was (in the inbox
	// of the user with that email).
	Note string `json:"note,omitempty"`
}

// Notification is a message a host sent (ctx.notify, POST /api/notify),
// kept for the console's inbox of each of its recipients.
type Notification struct {
	ID             string
	Env            string
	IdempotencyKey string // the host's; unique within Env when set
	Title          string
	Message        string
	TransactionID  string
	ActionSlug     string
	Deliveries     []NotificationDelivery
	CreatedAt      time.Time
	// ReadAt is when the user it was listed for read it; nil when unread
	// (and in CreateNotification's result).
	ReadAt *time.Time
}

// Keys of Store.Setting.
const (
	// SettingPublicURL is the public URL the server last served at, for
	// the links of administration commands run beside it.
	SettingPublicURL = "public_url"
)

// Store is the server's persistence. Implementations must be safe for
// concurrent use and commit each write before returning.
type Store interface {
	// CreateUser stores a new user with its teams; ErrConflict when a user
	// has that email already (compared ignoring ASCII case).
	CreateUser(ctx context.Context, u User) error
	// UpdateUser writes every field of u (by id) and replaces its teams;
	// ErrNotFound for an unknown id.
	UpdateUser(ctx context.Context, u User) error
	// SetPassword sets a user's password hash and, in the same
	// transaction, ends every other way in that the old password may have
	// given: all the user's sessions but the one whose hash is
	// keepSession ("" keeps none) and their unused login tokens;
	// ErrNotFound for an unknown id.
	SetPassword(ctx context.Context, userID, hash, keepSession string) error
	// DeleteUser deletes a user with its sessions, keys and team
	// memberships; ErrNotFound for an unknown id.
	DeleteUser(ctx context.Context, id string) error
	// UserByID and UserByEmail (ASCII case ignored) return a user with its
	// teams; ErrNotFound when there is none.
	UserByID(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	// ListUsers returns every user, oldest first.
	ListUsers(ctx context.Context) ([]User, error)
	// CountUsers returns how many users there are.
	CountUsers(ctx context.Context) (int, error)

	// CreateTeam stores a team; ErrConflict when its slug exists.
	CreateTeam(ctx context.Context, t Team) error
	// ListTeams returns every team by slug.
	ListTeams(ctx context.Context) ([]Team, error)

	// CreateAPIKey stores a key by the hash of its secret (the secret
	// itself is never stored).
	CreateAPIKey(ctx context.Context, k APIKey, hash string) error
	// APIKeyByHash and APIKeyByID return a key, revoked or not;
	// ErrNotFound when there is none.
	APIKeyByHash(ctx context.Context, hash string) (APIKey, error)
	APIKeyByID(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys returns every key, newest first.
	ListAPIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey marks a key revoked at at; ErrNotFound when it is
	// unknown or revoked already.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error

	// CreateSession stores a console session by the hash of its token.
	CreateSession(ctx context.Context, hash, userID string, expires time.Time) error
	// SessionUserID returns the user of a session unexpired at now;
	// ErrNotFound otherwise.
	SessionUserID(ctx context.Context, hash string, now time.Time) (string, error)
	// SessionUser returns the user, with its teams, of a session
	// unexpired at now, as the store has it at the call (a role or team
	// changed, a session deleted or ended by a new password are seen at
	// once); ErrNotFound otherwise.
	SessionUser(ctx context.Context, hash string, now time.Time) (User, error)
	// DeleteSession deletes a session (none is no error).
	DeleteSession(ctx context.Context, hash string) error

	// DeleteExpired deletes sessions and login tokens expired at now.
	DeleteExpired(ctx context.Context, now time.Time) error

	// CreateLoginToken stores a one-time login token by its hash.
	CreateLoginToken(ctx context.Context, hash, userID string, expires time.Time) error
	// ConsumeLoginToken returns the token's user and deletes the token.
	ConsumeLoginToken(ctx context.Context, hash string, now time.Time) (string, error)

	// CreateTransaction stores a new transaction.
	CreateTransaction(ctx context.Context, t Transaction) error
	// UpdateTransaction writes the mutable fields: status, result status,
	// result, host instance id and key, ViaHTTPHost, updated and completed
	// times, and the pending answer. It fails with ErrFinished, writing
	// nothing, when the stored transaction finished with another status
	// than t's; with ErrNotFound when there is none.
	UpdateTransaction(ctx context.Context, t Transaction) error
	// Transaction returns a transaction; ErrNotFound when there is none.
	Transaction(ctx context.Context, id string) (Transaction, error)
	// ListTransactions returns the transactions f selects, newest first.
	ListTransactions(ctx context.Context, f TransactionFilter) ([]Transaction, error)
	// CountTransactions counts the transactions f selects (its Before,
	// Offset and Limit aside).
	CountTransactions(ctx context.Context, f TransactionFilter) (int, error)
	// UnfinishedTransactions returns transactions not COMPLETED or CANCELED.
	UnfinishedTransactions(ctx context.Context) ([]Transaction, error)

	// AppendLog stores a log line of a transaction; a line with the same
	// index replaces the earlier one.
	AppendLog(ctx context.Context, txID string, l Log) error
	// Logs returns a transaction's log lines by index.
	Logs(ctx context.Context, txID string) ([]Log, error)

	// Enqueue stores a queued action.
	Enqueue(ctx context.Context, q QueuedAction) error
	// Dequeue marks the action dequeued and returns it; ErrNotFound when
	// it does not exist or was dequeued already.
	Dequeue(ctx context.Context, id string, at time.Time) (QueuedAction, error)
	// Queued returns the action still queued with that id without
	// dequeuing it; ErrNotFound when it does not exist or was dequeued.
	Queued(ctx context.Context, id string) (QueuedAction, error)
	// ListQueued returns the actions still queued in env, oldest first.
	ListQueued(ctx context.Context, env string) ([]QueuedAction, error)

	// CreateHTTPHost registers a serverless host; ErrConflict when its URL
	// is registered already in its environment.
	CreateHTTPHost(ctx context.Context, h HTTPHost) error
	// HTTPHost returns the serverless host with that id.
	HTTPHost(ctx context.Context, id string) (HTTPHost, error)
	// ListHTTPHosts returns every serverless host, oldest first.
	ListHTTPHosts(ctx context.Context) ([]HTTPHost, error)
	// DeleteHTTPHost deletes a serverless host; ErrNotFound when unknown.
	DeleteHTTPHost(ctx context.Context, id string) error

	// CreateNotification stores n for the users recipients (user ids) and
	// returns it with true. When n.IdempotencyKey is set and a
	// notification with that key exists in n.Env, it stores nothing and
	// returns that notification with false.
	CreateNotification(ctx context.Context, n Notification, recipients []string) (Notification, bool, error)
	// NoteDeliveries sets the Note of some of a notification's deliveries
	// (by index; out-of-range indexes are ignored), for what became of
	// them after it was stored. ErrNotFound for an unknown id.
	NoteDeliveries(ctx context.Context, id string, notes map[int]string) error
	// ListNotifications returns the user's notifications, newest first,
	// skipping offset and returning at most limit (all when limit <= 0),
	// and how many of all of them are unread.
	ListNotifications(ctx context.Context, userID string, offset, limit int) ([]Notification, int, error)
	// MarkNotificationRead marks one of the user's notifications read;
	// ErrNotFound when it is not theirs.
	MarkNotificationRead(ctx context.Context, userID, id string, at time.Time) error
	// MarkAllNotificationsRead marks all the user's notifications read and
	// returns how many were unread.
	MarkAllNotificationsRead(ctx context.Context, userID string, at time.Time) (int, error)

	// Setting returns the value stored under key (see the Setting*
	// constants); ErrNotFound when there is none.
	Setting(ctx context.Context, key string) (string, error)
	// SetSetting stores value under key, replacing any earlier value.
	SetSetting(ctx context.Context, key, value string) error

	// AppendAudit adds an event at the end of the audit trail.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns the audit events f selects, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)

	// Close releases the store.
	Close() error
}
