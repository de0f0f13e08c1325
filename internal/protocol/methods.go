package protocol

import (
	"encoding/json"
	"fmt"
)

// Host → server methods (wsServerSchema).
const (
	MethodInitializeHost          = "INITIALIZE_HOST"
	MethodSendIOCall              = "SEND_IO_CALL"
	MethodSendPage                = "SEND_PAGE"
	MethodSendLoadingCall         = "SEND_LOADING_CALL"
	MethodSendLog                 = "SEND_LOG"
	MethodSendRedirect            = "SEND_REDIRECT"
	MethodNotify                  = "NOTIFY"
	MethodMarkTransactionComplete = "MARK_TRANSACTION_COMPLETE"
	MethodBeginHostShutdown       = "BEGIN_HOST_SHUTDOWN"
)

// Server → host methods (hostSchema).
const (
	MethodStartTransaction = "START_TRANSACTION"
	MethodIOResponse       = "IO_RESPONSE"
	MethodCloseTransaction = "CLOSE_TRANSACTION"
	MethodOpenPage         = "OPEN_PAGE"
	MethodClosePage        = "CLOSE_PAGE"
)

// Transaction result statuses.
const (
	StatusSuccess    = "SUCCESS"
	StatusFailure    = "FAILURE"
	StatusCanceled   = "CANCELED"
	StatusRedirected = "REDIRECTED"
)

// Access is who may run an action or open a page: the entire organization,
// or members of the listed teams (by slug). The zero value means unset.
type Access struct {
	EntireOrganization bool
	Teams              []string
}

// MarshalJSON encodes "entire-organization" or {"teams":[…]}.
func (a Access) MarshalJSON() ([]byte, error) {
	if a.EntireOrganization {
		return []byte(`"entire-organization"`), nil
	}
	teams := a.Teams
	if teams == nil {
		teams = []string{}
	}
	return json.Marshal(struct {
		Teams []string `json:"teams"`
	}{teams})
}

// UnmarshalJSON decodes either form.
func (a *Access) UnmarshalJSON(p []byte) error {
	var s string
	if err := json.Unmarshal(p, &s); err == nil {
		if s != "entire-organization" {
			return fmt.Errorf("%w: access %q", ErrMalformed, s)
		}
		*a = Access{EntireOrganization: true}
		return nil
	}
	var o struct {
		Teams []string `json:"teams"`
	}
	if err := json.Unmarshal(p, &o); err != nil {
		return fmt.Errorf("%w: access: %v", ErrMalformed, err)
	}
	*a = Access{Teams: o.Teams}
	return nil
}

// ActionDefinition declares one action in INITIALIZE_HOST. Slug is local to
// GroupSlug (the full page path) when the action is nested in pages.
type ActionDefinition struct {
	GroupSlug      string  `json:"groupSlug,omitempty"`
	Slug           string  `json:"slug"`
	Name           string  `json:"name,omitempty"`
	Description    string  `json:"description,omitempty"`
	Backgroundable *bool   `json:"backgroundable,omitempty"`
	Unlisted       *bool   `json:"unlisted,omitempty"`
	WarnOnClose    *bool   `json:"warnOnClose,omitempty"`
	Access         *Access `json:"access,omitempty"`
}

// FullSlug is GroupSlug/Slug, or Slug at the top level.
func (d ActionDefinition) FullSlug() string {
	if d.GroupSlug == "" {
		return d.Slug
	}
	return d.GroupSlug + "/" + d.Slug
}

// PageDefinition declares one page (a "group") in INITIALIZE_HOST. Slug is
// the full path.
type PageDefinition struct {
	Slug        string  `json:"slug"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	HasHandler  bool    `json:"hasHandler"`
	HasIndex    *bool   `json:"hasIndex,omitempty"`
	Unlisted    *bool   `json:"unlisted,omitempty"`
	Access      *Access `json:"access,omitempty"`
}

// InitializeHostInputs is the input of INITIALIZE_HOST.
type InitializeHostInputs struct {
	Actions             []ActionDefinition `json:"actions"`
	Groups              []PageDefinition   `json:"groups,omitzero"` // nil: absent (null is rejected)
	SDKName             string             `json:"sdkName,omitempty"`
	SDKVersion          string             `json:"sdkVersion,omitempty"`
	RequestID           string             `json:"requestId,omitempty"`
	Timestamp           int64              `json:"timestamp,omitempty"`
	CallableActionNames []string           `json:"callableActionNames,omitempty"`
	// Implementation is an extra field read by this project's server: the
	// real identity of the SDK (sdkName/sdkVersion imitate the Node SDK so
	// the Interval server enables every feature). Other servers ignore it.
	Implementation *Implementation `json:"implementation,omitempty"`
}

// GoSDKName is the Implementation name of this project's Go SDK. Such a
// host re-delivers every call it makes while disconnected (results
// included) once it has reconnected, so a server may resume the runs it was
// computing when its connection dropped; the official Node SDK fails those
// calls instead.
const GoSDKName = "interval-go"

// GoServerName is the Implementation name this project's server gives in
// its INITIALIZE_HOST answer. Such a server keeps a development host's
// transactions, finished ones included, when the host disconnects (the
// self-hosted Interval server deletes them), so a host need not stay
// connected for the operator to read a result.
const GoServerName = "interval-go-server"

// Implementation names the SDK behind a host, or the server, honestly.
type Implementation struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// String is "name version", or "" for nil.
func (i *Implementation) String() string {
	if i == nil {
		return ""
	}
	return i.Name + " " + i.Version
}

// Organization is the organization a host belongs to.
type Organization struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// SDKAlert is a server notice about the host's SDK version.
type SDKAlert struct {
	MinSDKVersion string  `json:"minSdkVersion"`
	Severity      string  `json:"severity"`
	Message       *string `json:"message,omitempty"`
}

// InitializeHostReturns is the return of INITIALIZE_HOST. Type is "success"
// or "error". A server may also answer JSON null (unknown error).
type InitializeHostReturns struct {
	Type              string        `json:"type"`
	Environment       string        `json:"environment,omitempty"`
	InvalidSlugs      []string      `json:"invalidSlugs,omitempty"`
	Organization      *Organization `json:"organization,omitempty"`
	DashboardURL      string        `json:"dashboardUrl,omitempty"`
	ForcePeerMessages *bool         `json:"forcePeerMessages,omitempty"`
	SDKAlert          *SDKAlert     `json:"sdkAlert,omitempty"`
	Warnings          []string      `json:"warnings,omitempty"`
	Message           string        `json:"message,omitempty"`
	// Implementation is an extra field of this project's server, naming
	// it (GoServerName); the Node SDK ignores it.
	Implementation *Implementation `json:"implementation,omitempty"`
}

// MarshalJSON writes the success shape with every field the Node SDK
// requires present (environment, invalidSlugs, organization, dashboardUrl,
// warnings), or the error shape.
func (r InitializeHostReturns) MarshalJSON() ([]byte, error) {
	if r.Type != "success" {
		return marshalNoHTML(struct {
			Type     string    `json:"type"`
			Message  string    `json:"message"`
			SDKAlert *SDKAlert `json:"sdkAlert,omitempty"`
		}{r.Type, r.Message, r.SDKAlert})
	}
	inv, warn := r.InvalidSlugs, r.Warnings
	if inv == nil {
		inv = []string{}
	}
	if warn == nil {
		warn = []string{}
	}
	org := Organization{}
	if r.Organization != nil {
		org = *r.Organization
	}
	return marshalNoHTML(struct {
		Type              string          `json:"type"`
		Environment       string          `json:"environment"`
		InvalidSlugs      []string        `json:"invalidSlugs"`
		Organization      Organization    `json:"organization"`
		DashboardURL      string          `json:"dashboardUrl"`
		ForcePeerMessages *bool           `json:"forcePeerMessages,omitempty"`
		SDKAlert          *SDKAlert       `json:"sdkAlert,omitempty"`
		Warnings          []string        `json:"warnings"`
		Implementation    *Implementation `json:"implementation,omitempty"`
	}{r.Type, r.Environment, inv, org, r.DashboardURL, r.ForcePeerMessages, r.SDKAlert, warn, r.Implementation})
}

// SendIOCallInputs is the input of SEND_IO_CALL. IOCall is the JSON text of
// an IORender.
type SendIOCallInputs struct {
	TransactionID  string `json:"transactionId"`
	IOCall         string `json:"ioCall"`
	SkipClientCall bool   `json:"skipClientCall,omitempty"`
}

// SendIOCallReturns decodes SEND_IO_CALL's answer: true, false or
// {"type":"ERROR","message":…}.
type SendIOCallReturns struct {
	OK      bool
	Message string
}

// UnmarshalJSON accepts a boolean or the error object.
func (r *SendIOCallReturns) UnmarshalJSON(p []byte) error {
	var b bool
	if err := json.Unmarshal(p, &b); err == nil {
		*r = SendIOCallReturns{OK: b}
		return nil
	}
	var e struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(p, &e); err != nil || e.Type != "ERROR" {
		return fmt.Errorf("%w: SEND_IO_CALL return %s", ErrMalformed, truncate(p))
	}
	*r = SendIOCallReturns{Message: e.Message}
	return nil
}

// MarshalJSON writes true/false, or the error object when Message is set.
func (r SendIOCallReturns) MarshalJSON() ([]byte, error) {
	if !r.OK && r.Message != "" {
		return marshalNoHTML(struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}{"ERROR", r.Message})
	}
	return json.Marshal(r.OK)
}

// SendPageInputs is the input of SEND_PAGE. Page is the JSON text of a
// Layout, or nil when the page handler returned nothing.
type SendPageInputs struct {
	PageKey string  `json:"pageKey"`
	Page    *string `json:"page,omitempty"`
}

// LoadingState is the state of a transaction's loading indicator.
type LoadingState struct {
	Label          string `json:"label,omitempty"`
	Description    string `json:"description,omitempty"`
	ItemsInQueue   *int   `json:"itemsInQueue,omitempty"`
	ItemsCompleted *int   `json:"itemsCompleted,omitempty"`
	Title          string `json:"title,omitempty"`
}

// SendLoadingCallInputs is the input of SEND_LOADING_CALL.
type SendLoadingCallInputs struct {
	TransactionID string `json:"transactionId"`
	LoadingState
	SkipClientCall bool `json:"skipClientCall,omitempty"`
}

// SendLogInputs is the input of SEND_LOG. Data is plain text.
type SendLogInputs struct {
	TransactionID  string `json:"transactionId"`
	Data           string `json:"data"`
	Index          *int   `json:"index,omitempty"`
	Timestamp      int64  `json:"timestamp,omitempty"`
	SkipClientCall bool   `json:"skipClientCall,omitempty"`
}

// Redirect is where a redirect goes: a URL, or a route with params
// (Action is the deprecated form of Route).
type Redirect struct {
	URL      string         `json:"url,omitempty"`
	Download string         `json:"download,omitempty"`
	Route    string         `json:"route,omitempty"`
	Action   string         `json:"action,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
	Replace  *bool          `json:"replace,omitempty"`
}

// SendRedirectInputs is the input of SEND_REDIRECT.
type SendRedirectInputs struct {
	TransactionID string `json:"transactionId"`
	Redirect
	SkipClientCall bool `json:"skipClientCall,omitempty"`
}

// DeliveryInstruction is one recipient of a notification.
type DeliveryInstruction struct {
	To     string `json:"to"`
	Method string `json:"method,omitempty"` // "EMAIL" or "SLACK"
}

// NotifyInputs is the input of NOTIFY (websocket) and the body of
// POST /api/notify.
type NotifyInputs struct {
	TransactionID        string                `json:"transactionId,omitempty"`
	Message              string                `json:"message"`
	Title                string                `json:"title,omitempty"`
	DeliveryInstructions []DeliveryInstruction `json:"deliveryInstructions"`
	CreatedAt            string                `json:"createdAt"`
	IdempotencyKey       string                `json:"idempotencyKey,omitempty"`
}

// MarkTransactionCompleteInputs is the input of MARK_TRANSACTION_COMPLETE.
// Result is the JSON text of an ActionResult.
type MarkTransactionCompleteInputs struct {
	TransactionID  string `json:"transactionId"`
	ResultStatus   string `json:"resultStatus,omitempty"`
	Result         string `json:"result,omitempty"`
	SkipClientCall bool   `json:"skipClientCall,omitempty"`
}

// TypedResult is the {"type":"success"|"error","message"?} return shape of
// BEGIN_HOST_SHUTDOWN and the HTTP API.
type TypedResult struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
	ID      string `json:"id,omitempty"`
}

// User is the operator a transaction or page runs for.
type User struct {
	Email     string   `json:"email"`
	FirstName *string  `json:"firstName"`
	LastName  *string  `json:"lastName"`
	Role      string   `json:"role"`
	Teams     []string `json:"teams"`
}

// ActionRef identifies the running action.
type ActionRef struct {
	Slug string `json:"slug"`
	URL  string `json:"url"`
}

// StartTransactionInputs is the input of START_TRANSACTION.
type StartTransactionInputs struct {
	TransactionID              string          `json:"transactionId"`
	DisplayResolvesImmediately *bool           `json:"displayResolvesImmediately,omitempty"`
	ActionName                 string          `json:"actionName"`
	Action                     ActionRef       `json:"action"`
	Environment                string          `json:"environment"`
	User                       User            `json:"user"`
	Params                     json.RawMessage `json:"params"`
	ParamsMeta                 json.RawMessage `json:"paramsMeta,omitempty"`
}

// Validate reports a missing required field, as the Node SDK's zod schema
// would (it ignores such calls silently; we report them).
func (s *StartTransactionInputs) Validate() error {
	switch {
	case s.TransactionID == "":
		return fmt.Errorf("%w: START_TRANSACTION without transactionId", ErrMalformed)
	case s.Action.Slug == "":
		return fmt.Errorf("%w: START_TRANSACTION without action.slug", ErrMalformed)
	case s.User.Email == "" && s.User.Role == "":
		return fmt.Errorf("%w: START_TRANSACTION without user", ErrMalformed)
	}
	return nil
}

// IOResponseInputs is the input of IO_RESPONSE. Value is the JSON text of an
// IOResponse.
type IOResponseInputs struct {
	Value         string `json:"value"`
	TransactionID string `json:"transactionId"`
}

// CloseTransactionInputs is the input of CLOSE_TRANSACTION.
type CloseTransactionInputs struct {
	TransactionID string `json:"transactionId"`
}

// PageRef identifies a page by full slug.
type PageRef struct {
	Slug string `json:"slug"`
}

// OpenPageInputs is the input of OPEN_PAGE.
type OpenPageInputs struct {
	PageKey     string          `json:"pageKey"`
	Page        PageRef         `json:"page"`
	Environment string          `json:"environment"`
	User        User            `json:"user"`
	Params      json.RawMessage `json:"params"`
	ParamsMeta  json.RawMessage `json:"paramsMeta,omitempty"`
}

// OpenPageReturns is the return of OPEN_PAGE: Type "SUCCESS" with PageKey,
// or "ERROR" with Message.
type OpenPageReturns struct {
	Type    string `json:"type"`
	PageKey string `json:"pageKey,omitempty"`
	Message string `json:"message,omitempty"`
}

// ClosePageInputs is the input of CLOSE_PAGE.
type ClosePageInputs struct {
	PageKey string `json:"pageKey"`
}

// EnqueueInputs is the body of POST /api/actions/enqueue.
type EnqueueInputs struct {
	Slug       string          `json:"slug"`
	Assignee   string          `json:"assignee,omitempty"`
	Params     json.RawMessage `json:"params,omitempty"`
	ParamsMeta json.RawMessage `json:"paramsMeta,omitempty"`
}

// DequeueInputs is the body of POST /api/actions/dequeue.
type DequeueInputs struct {
	ID string `json:"id"`
}

// DequeueReturns is the answer of POST /api/actions/dequeue.
type DequeueReturns struct {
	Type       string          `json:"type"`
	ID         string          `json:"id,omitempty"`
	Assignee   string          `json:"assignee,omitempty"`
	Params     json.RawMessage `json:"params,omitempty"`
	ParamsMeta json.RawMessage `json:"paramsMeta,omitempty"`
	Message    string          `json:"message,omitempty"`
}

// DeclareHostInputs is the body of POST /api/hosts/declare.
type DeclareHostInputs struct {
	HTTPHostID string             `json:"httpHostId"`
	Actions    []ActionDefinition `json:"actions"`
	Groups     []PageDefinition   `json:"groups,omitempty"`
	SDKName    string             `json:"sdkName"`
	SDKVersion string             `json:"sdkVersion"`
	// Implementation is this project's extra field, as in
	// InitializeHostInputs.
	Implementation *Implementation `json:"implementation,omitempty"`
}

// DeclareHostReturns is the answer of POST /api/hosts/declare.
type DeclareHostReturns struct {
	Type         string    `json:"type"`
	InvalidSlugs []string  `json:"invalidSlugs,omitempty"`
	SDKAlert     *SDKAlert `json:"sdkAlert,omitempty"`
	Warnings     []string  `json:"warnings,omitempty"`
	Message      string    `json:"message,omitempty"`
}

func truncate(p []byte) string {
	if len(p) > 80 {
		return string(p[:80]) + "…"
	}
	return string(p)
}
