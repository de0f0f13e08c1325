package router

import "fmt"

// An Option sets a property of an action or a page at registration. Name,
// Description, Unlisted and Teams apply to both; Backgroundable and
// WarnOnClose apply to actions only, and registering a page (Route, Page,
// Mount, New) with one of them panics.
type Option func(*config)

type config struct {
	name           string
	description    string
	unlisted       bool
	backgroundable bool
	warnOnClose    *bool
	teams          []string
	actionOnly     []string // names of the action-only options used
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o == nil {
			panic("router: nil Option")
		}
		o(&c)
	}
	return c
}

// forPage panics when an action-only option was given for the page at slug.
func (c config) forPage(method, slug string) config {
	if len(c.actionOnly) > 0 {
		panic(fmt.Sprintf("router: %s(%q): option %s applies to actions, not to pages", method, slug, c.actionOnly[0]))
	}
	return c
}

// Name sets the name the console shows for an action or a page. Without it
// (or with ""), the name is the humanized slug: "refund_user" → "Refund
// user".
func Name(name string) Option {
	return func(c *config) { c.name = name }
}

// Description sets the description the console shows under an action's or a
// page's name.
func Description(d string) Option {
	return func(c *config) { c.description = d }
}

// Unlisted hides an action or a page from the console's lists. It can still
// be run or opened by URL, by a redirect or from a queue.
func Unlisted() Option {
	return func(c *config) { c.unlisted = true }
}

// Backgroundable lets an action keep running when the operator leaves it;
// they can come back to it from the console's history. Actions only.
func Backgroundable() Option {
	return func(c *config) {
		c.backgroundable = true
		c.actionOnly = append(c.actionOnly, "Backgroundable")
	}
}

// WarnOnClose sets whether the console asks for confirmation before an
// operator leaves the running action. Without it the server's default
// applies (true). Actions only.
func WarnOnClose(warn bool) Option {
	return func(c *config) {
		c.warnOnClose = &warn
		c.actionOnly = append(c.actionOnly, "WarnOnClose")
	}
}

// Teams restricts an action or a page to the members of any of these teams
// (team slugs); the server enforces it. Without Teams, the whole
// organization has access. Teams panics when called with no slug or an empty
// one, since an empty list would silently open access to everyone.
func Teams(slugs ...string) Option {
	if len(slugs) == 0 {
		panic("router: Teams needs at least one team slug")
	}
	for _, s := range slugs {
		if s == "" {
			panic("router: Teams: empty team slug")
		}
	}
	teams := append([]string(nil), slugs...)
	return func(c *config) { c.teams = append(c.teams, teams...) }
}
