package interval

// ActionRef identifies the action a transaction runs.
type ActionRef struct {
	Slug string
	URL  string
}

// Tx is the context of one transaction: who runs which action with what
// params, and the IO methods that talk to the operator. A Tx is valid only
// while its handler runs; its methods are safe for concurrent use.
//
// Middleware also receives a Tx for the work of a page, with Page set; see
// Middleware.
type Tx struct {
	// ID is the transaction id chosen by the server.
	ID string
	// IO holds the IO method families: tx.IO.Input.Text(…), tx.IO.Display…
	IO *IO
	// User is the operator who started the transaction.
	User User
	// Params are the action's params (from the URL, a redirect or a queued
	// action).
	Params Params
	// Environment is the server environment ("production", "development" or
	// a custom one).
	Environment string
	// Organization is the organization the host serves.
	Organization Organization
	// Action is the running action.
	Action ActionRef
	// Loading controls the operator's loading indicator.
	Loading *Loading
	// Page is the page being served when a middleware runs for a page's
	// handler or its children's data (see Middleware); it is nil in an
	// action.
	Page *Page

	t *txState
}
