package intervaltest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
)

// Transaction is a transaction started by a test.
type Transaction struct {
	s    *Server
	host *Host
	// ID is the transaction id; Slug the action's slug.
	ID   string
	Slug string

	// Set under the server's lock; read them after Result or with the
	// accessor methods.
	Logs      []string
	Loading   []LoadingState
	Redirects []Redirect

	renders     []*Render
	seen        int
	seenLoading int
	result      *protocol.MarkTransactionCompleteInputs
	completions int
}

// Render is one render instruction (SEND_IO_CALL) of a transaction.
type Render struct {
	t *Transaction
	protocol.IORender
	// Raw is the ioCall string exactly as the host sent it.
	Raw string
}

// Next waits for the next render the host sends (re-renders after
// validation or state changes included) and returns it.
func (t *Transaction) Next(ctx context.Context) (*Render, error) {
	var r *Render
	err := t.s.waitFor(ctx, "a render of "+t.Slug, func() bool {
		if t.seen < len(t.renders) {
			r = t.renders[t.seen]
			t.seen++
			return true
		}
		return false
	})
	return r, err
}

// Renders returns every render received so far.
func (t *Transaction) Renders() []*Render {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return append([]*Render(nil), t.renders...)
}

// LogLines returns the log lines received so far.
func (t *Transaction) LogLines() []string {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return append([]string(nil), t.Logs...)
}

// LoadingStates returns the loading states received so far.
func (t *Transaction) LoadingStates() []LoadingState {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return append([]LoadingState(nil), t.Loading...)
}

// NextLoading waits for the next loading state the host sends (updates
// arrive coalesced, at most one per 100 ms) and returns it.
func (t *Transaction) NextLoading(ctx context.Context) (LoadingState, error) {
	var l LoadingState
	err := t.s.waitFor(ctx, "a loading state of "+t.Slug, func() bool {
		if t.seenLoading < len(t.Loading) {
			l = t.Loading[t.seenLoading]
			t.seenLoading++
			return true
		}
		return false
	})
	return l, err
}

// RedirectsSent returns the redirects received so far.
func (t *Transaction) RedirectsSent() []Redirect {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return append([]Redirect(nil), t.Redirects...)
}

// Completions counts MARK_TRANSACTION_COMPLETE calls received.
func (t *Transaction) Completions() int {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.completions
}

// Values answers a render by component label. Components not named get
// null (displays, optional inputs left empty).
type Values map[string]any

// Labels returns the labels of the render's components, in order.
func (r *Render) Labels() []string {
	out := make([]string, len(r.ToRender))
	for i, c := range r.ToRender {
		out[i] = c.Label
	}
	return out
}

// Component returns the component with this label.
func (r *Render) Component(label string) (ComponentRender, bool) {
	for _, c := range r.ToRender {
		if c.Label == label {
			return c, true
		}
	}
	return ComponentRender{}, false
}

// Props decodes the props of the component with this label into v.
func (r *Render) Props(label string, v any) error {
	c, ok := r.Component(label)
	if !ok {
		return fmt.Errorf("intervaltest: no component %q in render (have %q)", label, r.Labels())
	}
	return json.Unmarshal(c.Props, v)
}

// Answer submits values with the default button ("Continue").
func (r *Render) Answer(ctx context.Context, v Values) error {
	return r.respond(ctx, protocol.KindReturn, "Continue", v)
}

// Choose submits values by clicking the choice button with this value.
func (r *Render) Choose(ctx context.Context, choice string, v Values) error {
	return r.respond(ctx, protocol.KindReturn, choice, v)
}

// SetState sends a SET_STATE update (table paging, search queries) for
// the components named.
func (r *Render) SetState(ctx context.Context, v Values) error {
	return r.respond(ctx, protocol.KindSetState, "", v)
}

// RespondRaw sends a raw IO response value string, for tests of bad input.
func (r *Render) RespondRaw(ctx context.Context, value string) error {
	r.t.s.mu.Lock()
	host := r.t.host
	r.t.s.mu.Unlock()
	_, err := host.Call(ctx, protocol.MethodIOResponse, protocol.IOResponseInputs{Value: value, TransactionID: r.t.ID})
	return err
}

// encode returns one JSON value per component of the render, by label
// (null for components not named), and fails when v names a label the
// render does not have.
func (r *Render) encode(v Values) ([]json.RawMessage, error) {
	values := make([]json.RawMessage, len(r.ToRender))
	used := 0
	for i, c := range r.ToRender {
		val, ok := v[c.Label]
		if !ok {
			values[i] = json.RawMessage("null")
			continue
		}
		used++
		b, err := json.Marshal(val)
		if err != nil {
			return nil, fmt.Errorf("intervaltest: value for %q: %w", c.Label, err)
		}
		values[i] = b
	}
	if used != len(v) {
		return nil, fmt.Errorf("intervaltest: values name labels not in the render (have %q)", r.Labels())
	}
	return values, nil
}

func (r *Render) respond(ctx context.Context, kind, choice string, v Values) error {
	values, err := r.encode(v)
	if err != nil {
		return err
	}
	resp := protocol.IOResponse{ID: r.ID, TransactionID: r.t.ID, InputGroupKey: r.InputGroupKey,
		Values: values, Choice: choice, Kind: kind}
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	return r.RespondRaw(ctx, string(b))
}

// Cancel cancels the transaction as the server does when the operator
// leaves or clicks cancel: a CANCELED IO response, then CLOSE_TRANSACTION.
func (t *Transaction) Cancel(ctx context.Context) error {
	t.s.mu.Lock()
	id, key := "UNKNOWN", "UNKNOWN"
	if n := len(t.renders); n > 0 {
		id, key = t.renders[n-1].ID, t.renders[n-1].InputGroupKey
	}
	host := t.host
	t.s.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"id": id, "inputGroupKey": key, "transactionId": t.ID, "kind": protocol.KindCanceled, "values": []any{}})
	if _, err := host.Call(ctx, protocol.MethodIOResponse, protocol.IOResponseInputs{Value: string(b), TransactionID: t.ID}); err != nil {
		return err
	}
	return t.Close(ctx)
}

// Close sends CLOSE_TRANSACTION, as the server does when the operator
// leaves a finished transaction.
func (t *Transaction) Close(ctx context.Context) error {
	t.s.mu.Lock()
	host := t.host
	t.s.mu.Unlock()
	_, err := host.Call(ctx, protocol.MethodCloseTransaction, protocol.CloseTransactionInputs{TransactionID: t.ID})
	return err
}

// Result is a transaction's outcome as the host reported it.
type Result struct {
	// Status is "SUCCESS" or "FAILURE".
	Status string
	// Data is the decoded result (superjson meta applied: time.Time,
	// *big.Int); for failures, an object with error, message and cause.
	Data any
	// Message is the error message of a failure.
	Message string
	// Raw is the result JSON text as sent.
	Raw string
}

// Result waits for MARK_TRANSACTION_COMPLETE and decodes it.
func (t *Transaction) Result(ctx context.Context) (Result, error) {
	var in *protocol.MarkTransactionCompleteInputs
	if err := t.s.waitFor(ctx, "the result of "+t.Slug, func() bool {
		in = t.result
		return in != nil
	}); err != nil {
		return Result{}, err
	}
	var ar protocol.ActionResult
	if err := json.Unmarshal([]byte(in.Result), &ar); err != nil {
		return Result{}, fmt.Errorf("intervaltest: result: %w", err)
	}
	data, err := protocol.Deserialize(ar.Data, ar.Meta)
	if err != nil {
		return Result{}, err
	}
	res := Result{Status: in.ResultStatus, Data: data, Raw: in.Result}
	if m, ok := data.(map[string]any); ok && ar.Status == protocol.StatusFailure {
		res.Message, _ = m["message"].(string)
	}
	return res, nil
}

// PageView is a page opened by a test.
type PageView struct {
	s       *Server
	host    *Host
	Key     string
	Slug    string
	Answer  protocol.OpenPageReturns
	layouts []*string
	seen    int

	loading     []LoadingState
	seenLoading int
	redirects   []Redirect
}

// NextLoading waits for the next loading state the host sends for the page
// (Page.Loading) and returns it.
func (p *PageView) NextLoading(ctx context.Context) (LoadingState, error) {
	var l LoadingState
	err := p.s.waitFor(ctx, "a loading state of "+p.Slug, func() bool {
		if p.seenLoading < len(p.loading) {
			l = p.loading[p.seenLoading]
			p.seenLoading++
			return true
		}
		return false
	})
	return l, err
}

// RedirectsSent returns the redirects the host sent for the page so far.
func (p *PageView) RedirectsSent() []Redirect {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return append([]Redirect(nil), p.redirects...)
}

// OpenPage sends OPEN_PAGE for slug and returns the host's answer.
func (s *Server) OpenPage(ctx context.Context, slug string, opts ...StartOption) (*PageView, error) {
	h, err := s.WaitHost(ctx)
	if err != nil {
		return nil, err
	}
	st := protocol.StartTransactionInputs{User: Admin, Params: json.RawMessage(`{}`)}
	for _, o := range opts {
		if err := o(&st); err != nil {
			return nil, err
		}
	}
	p := &PageView{s: s, host: h, Key: uuid.NewString(), Slug: slug}
	s.mu.Lock()
	s.pages[p.Key] = p
	s.mu.Unlock()
	raw, err := h.Call(ctx, protocol.MethodOpenPage, protocol.OpenPageInputs{PageKey: p.Key, Page: protocol.PageRef{Slug: slug},
		Environment: "development", User: st.User, Params: st.Params, ParamsMeta: st.ParamsMeta})
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &p.Answer); err != nil {
		return nil, fmt.Errorf("intervaltest: OPEN_PAGE answer: %w", err)
	}
	return p, nil
}

// Next waits for the next layout the host sends; nil means the handler
// returned no layout.
func (p *PageView) Next(ctx context.Context) (*Layout, error) {
	var raw *string
	err := p.s.waitFor(ctx, "a layout of "+p.Slug, func() bool {
		if p.seen < len(p.layouts) {
			raw = p.layouts[p.seen]
			p.seen++
			return true
		}
		return false
	})
	if err != nil || raw == nil {
		return nil, err
	}
	var l protocol.Layout
	if err := json.Unmarshal([]byte(*raw), &l); err != nil {
		return nil, fmt.Errorf("intervaltest: layout: %w", err)
	}
	return &l, nil
}

// SetState sends a SET_STATE for the stateful children (tables, grids) of
// layout, by label, as the console does when the operator pages or
// searches; the host answers with a new layout (read it with Next).
func (p *PageView) SetState(ctx context.Context, layout *Layout, v Values) error {
	if layout == nil || layout.Children == nil {
		return fmt.Errorf("intervaltest: layout has no children")
	}
	r := &Render{IORender: *layout.Children}
	values, err := r.encode(v)
	if err != nil {
		return err
	}
	b, err := json.Marshal(protocol.IOResponse{ID: r.ID, TransactionID: p.Key, InputGroupKey: r.InputGroupKey, Values: values, Kind: protocol.KindSetState})
	if err != nil {
		return err
	}
	_, err = p.host.Call(ctx, protocol.MethodIOResponse, protocol.IOResponseInputs{Value: string(b), TransactionID: p.Key})
	return err
}

// Close sends CLOSE_PAGE, as the server does when the operator leaves.
func (p *PageView) Close(ctx context.Context) error {
	_, err := p.host.Call(ctx, protocol.MethodClosePage, protocol.ClosePageInputs{PageKey: p.Key})
	return err
}
