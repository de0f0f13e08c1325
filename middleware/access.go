package middleware

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/interval-go/sdk/interval"
)

// ErrForbidden is wrapped by the error RequireRole and RequireTeams return
// when the operator may not run the action or open the page. Its message is
// "access denied".
var ErrForbidden = errors.New("access denied")

// RequireRole lets the action run, or the page render and load its
// children's data, only for operators whose role is one of roles
// (interval.RoleAdmin, interval.RoleDeveloper, interval.RoleMember). Anyone
// else gets an error wrapping ErrForbidden, such as
// `access denied: requires role "admin"`, which fails the transaction or is
// shown on the page; the handler (or the page's data fetch) is never called.
//
// Use it for actions that only some roles may run but whose team access is
// not configured on the server. RequireRole panics when called without a
// role.
func RequireRole(roles ...string) interval.Middleware {
	if len(roles) == 0 {
		panic("middleware: RequireRole needs at least one role")
	}
	roles = slices.Clone(roles)
	return require(requirement("role", roles), func(u interval.User) bool { return slices.Contains(roles, u.Role) })
}

// RequireTeams lets the action run, or the page render and load its
// children's data, only for operators who belong to at least one of teams
// (team slugs). Anyone else gets an error wrapping ErrForbidden, such as
// `access denied: requires team "support"`, which fails the transaction or
// is shown on the page; the handler (or the page's data fetch) is never
// called.
//
// The server already enforces router.Teams; use RequireTeams as well when
// the host must not trust the server's configuration, or for a check inside
// a group of actions that the console lists for everyone. RequireTeams
// panics when called without a team.
func RequireTeams(teams ...string) interval.Middleware {
	if len(teams) == 0 {
		panic("middleware: RequireTeams needs at least one team")
	}
	teams = slices.Clone(teams)
	return require(requirement("team", teams), func(u interval.User) bool { return slices.ContainsFunc(teams, u.InTeam) })
}

// require is the middleware of RequireRole and RequireTeams: it fails the
// transaction with ErrForbidden and msg unless allowed(user).
func require(msg string, allowed func(interval.User) bool) interval.Middleware {
	return func(next interval.Handler) interval.Handler {
		return interval.HandlerFunc(func(ctx context.Context, tx *interval.Tx) (any, error) {
			if !allowed(tx.User) {
				return nil, fmt.Errorf("%w: %s", ErrForbidden, msg)
			}
			return next.ServeAction(ctx, tx)
		})
	}
}

// requirement renders `role "admin"` or `one of the roles "admin", "developer"`.
func requirement(kind string, names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return "requires " + kind + " " + q[0]
	}
	return "requires one of the " + kind + "s " + strings.Join(q, ", ")
}
