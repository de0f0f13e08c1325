package protocol

// Browser → server methods (the dashboard's calls in wsServerSchema).
const (
	MethodInitializeClient             = "INITIALIZE_CLIENT"
	MethodConnectToTransactionAsClient = "CONNECT_TO_TRANSACTION_AS_CLIENT"
	MethodLeaveTransaction             = "LEAVE_TRANSACTION"
	MethodRespondToIOCall              = "RESPOND_TO_IO_CALL"
	MethodRequestPage                  = "REQUEST_PAGE"
	MethodLeavePage                    = "LEAVE_PAGE"
)

// Server → browser methods (clientSchema).
const (
	MethodRender                 = "RENDER"
	MethodRenderPage             = "RENDER_PAGE"
	MethodLoadingState           = "LOADING_STATE"
	MethodLog                    = "LOG"
	MethodClientNotify           = "NOTIFY"
	MethodRedirect               = "REDIRECT"
	MethodTransactionCompleted   = "TRANSACTION_COMPLETED"
	MethodClientUsurped          = "CLIENT_USURPED"
	MethodHostClosedUnexpectedly = "HOST_CLOSED_UNEXPECTEDLY"
	MethodHostReconnected        = "HOST_RECONNECTED"
)

// ConnectToTransactionInputs is the input of CONNECT_TO_TRANSACTION_AS_CLIENT.
type ConnectToTransactionInputs struct {
	TransactionID string         `json:"transactionId"`
	Params        map[string]any `json:"params,omitempty"`
}

// TransactionRef names a transaction (LEAVE_TRANSACTION, CLIENT_USURPED,
// HOST_CLOSED_UNEXPECTEDLY, HOST_RECONNECTED).
type TransactionRef struct {
	TransactionID string `json:"transactionId"`
}

// RespondToIOCallInputs is the input of RESPOND_TO_IO_CALL. IOResponse is the
// JSON text of an IOResponse.
type RespondToIOCallInputs struct {
	TransactionID string `json:"transactionId"`
	IOResponse    string `json:"ioResponse"`
}

// RequestPageInputs is the input of REQUEST_PAGE.
type RequestPageInputs struct {
	PageKey                   string         `json:"pageKey"`
	PageSlug                  string         `json:"pageSlug"`
	ActionMode                string         `json:"actionMode,omitempty"`
	OrganizationEnvironmentID string         `json:"organizationEnvironmentId,omitempty"`
	Params                    map[string]any `json:"params,omitempty"`
}

// PageKeyRef names a page (LEAVE_PAGE).
type PageKeyRef struct {
	PageKey string `json:"pageKey"`
}

// RenderInputs is the input of RENDER: the host's ioCall string, unchanged.
type RenderInputs struct {
	TransactionID string `json:"transactionId"`
	ToRender      string `json:"toRender"`
}

// RenderPageInputs is the input of RENDER_PAGE.
type RenderPageInputs struct {
	PageKey        string  `json:"pageKey"`
	Page           *string `json:"page,omitempty"`
	HostInstanceID string  `json:"hostInstanceId"`
}

// LoadingStateInputs is the input of LOADING_STATE.
type LoadingStateInputs struct {
	TransactionID string `json:"transactionId"`
	LoadingState
}

// LogInputs is the input of LOG.
type LogInputs struct {
	TransactionID string  `json:"transactionId"`
	Data          *string `json:"data"`
	Index         int     `json:"index"`
	Timestamp     int64   `json:"timestamp"`
}

// RedirectInputs is the input of REDIRECT.
type RedirectInputs struct {
	TransactionID string `json:"transactionId"`
	Redirect
}

// TransactionCompletedInputs is the input of TRANSACTION_COMPLETED.
type TransactionCompletedInputs struct {
	TransactionID string `json:"transactionId"`
	ResultStatus  string `json:"resultStatus"`
	Result        string `json:"result,omitempty"`
	// ResultHTML is this project's: a result that is HTML (a rich text
	// answer returned, say), sanitized by the server, for the console to
	// show formatted.
	ResultHTML string `json:"resultHtml,omitempty"`
}

// ClientNotifyInputs is the input of NOTIFY sent to a browser.
type ClientNotifyInputs struct {
	TransactionID  string                `json:"transactionId"`
	Deliveries     []DeliveryInstruction `json:"deliveries"`
	Message        string                `json:"message"`
	Title          string                `json:"title,omitempty"`
	IdempotencyKey string                `json:"idempotencyKey,omitempty"`
}
