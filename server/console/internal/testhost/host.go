// Package testhost is a small Interval host written directly on the wire
// protocol (internal/isocket, internal/rpc, internal/protocol). The
// console's browser tests and its demo program use it to drive every IO
// method, including stateful tables, without depending on the SDK's IO
// surface.
package testhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/isocket"
	"github.com/interval-go/sdk/internal/protocol"
	"github.com/interval-go/sdk/internal/rpc"
)

// ErrCanceled is returned by IO calls of a canceled transaction.
var ErrCanceled = errors.New("testhost: transaction canceled")

// Options configures a Host.
type Options struct {
	Endpoint string // ws://…/websocket
	APIKey   string
	Actions  []Action
	Pages    []Page
	Logger   *slog.Logger
}

// Action is one action the host serves.
type Action struct {
	Slug        string // local slug
	GroupSlug   string // full page path, or empty
	Name        string
	Description string
	Unlisted    bool
	WarnOnClose *bool
	Handler     func(ctx context.Context, t *Tx) (any, error)
}

// Page is one page (group) the host serves; Handler may be nil.
type Page struct {
	Slug        string
	Name        string
	Description string
	Unlisted    bool
	Handler     func(ctx context.Context, p *PageCtx) (*Layout, error)
}

// Host is a connected host. Close ends it.
type Host struct {
	opts    Options
	log     *slog.Logger
	conn    *isocket.Conn
	peer    *rpc.Peer
	actions map[string]Action
	pages   map[string]Page

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	txs   map[string]*Tx
	pageS map[string]*pageState

	instanceID string
	connMu     sync.Mutex
	init       protocol.InitializeHostInputs
}

// Start dials the server, declares the routes and serves transactions
// until Close.
func Start(ctx context.Context, opts Options) (*Host, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hctx, cancel := context.WithCancel(context.Background())
	h := &Host{opts: opts, log: log, actions: map[string]Action{}, pages: map[string]Page{},
		ctx: hctx, cancel: cancel, txs: map[string]*Tx{}, pageS: map[string]*pageState{}}
	for _, a := range opts.Actions {
		full := a.Slug
		if a.GroupSlug != "" {
			full = a.GroupSlug + "/" + a.Slug
		}
		h.actions[full] = a
	}
	for _, p := range opts.Pages {
		h.pages[p.Slug] = p
	}
	h.instanceID = uuid.NewString()
	h.peer = rpc.NewPeer(func(ctx context.Context, data string) error {
		h.connMu.Lock()
		c := h.conn
		h.connMu.Unlock()
		if c == nil {
			return isocket.ErrNotConnected
		}
		return c.Send(ctx, data)
	}, h.handle, nil, log)
	in := protocol.InitializeHostInputs{SDKName: "@interval/sdk", SDKVersion: "2.0.0", Timestamp: time.Now().UnixMilli(),
		Actions: []protocol.ActionDefinition{}, Groups: []protocol.PageDefinition{}}
	t := true
	for _, a := range opts.Actions {
		d := protocol.ActionDefinition{Slug: a.Slug, GroupSlug: a.GroupSlug, Name: a.Name, Description: a.Description, WarnOnClose: a.WarnOnClose}
		if a.Unlisted {
			d.Unlisted = &t
		}
		in.Actions = append(in.Actions, d)
	}
	for _, p := range opts.Pages {
		d := protocol.PageDefinition{Slug: p.Slug, Name: p.Name, Description: p.Description, HasHandler: p.Handler != nil}
		if p.Unlisted {
			d.Unlisted = &t
		}
		in.Groups = append(in.Groups, d)
	}
	h.init = in
	if err := h.connect(ctx); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// connect dials with the host's instance id and declares its routes.
func (h *Host) connect(ctx context.Context) error {
	conn, err := isocket.Dial(ctx, isocket.DialOptions{Endpoint: h.opts.Endpoint, APIKey: h.opts.APIKey, InstanceID: h.instanceID},
		isocket.Config{OnMessage: h.peer.Receive, Logger: h.log})
	if err != nil {
		return err
	}
	h.connMu.Lock()
	h.conn = conn
	h.connMu.Unlock()
	in := h.init
	in.Timestamp = time.Now().UnixMilli()
	var res json.RawMessage
	if err := h.peer.Call(ctx, protocol.MethodInitializeHost, in, &res); err != nil {
		return fmt.Errorf("testhost: INITIALIZE_HOST: %w", err)
	}
	var typed struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(res, &typed); err != nil || typed.Type != "success" {
		return fmt.Errorf("testhost: INITIALIZE_HOST refused: %s", res)
	}
	return nil
}

// Drop closes the host's connection without ending its transactions, as
// a network failure would.
func (h *Host) Drop() {
	h.connMu.Lock()
	c := h.conn
	h.conn = nil
	h.connMu.Unlock()
	if c != nil {
		c.Close()
	}
}

// Reconnect dials again with the same instance id, declares the routes and
// re-sends the pending IO call of every waiting transaction.
func (h *Host) Reconnect(ctx context.Context) error {
	if err := h.connect(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	var calls []protocol.SendIOCallInputs
	for id, t := range h.txs {
		t.mu.Lock()
		if t.lastCall != "" {
			calls = append(calls, protocol.SendIOCallInputs{TransactionID: id, IOCall: t.lastCall})
		}
		t.mu.Unlock()
	}
	h.mu.Unlock()
	for _, c := range calls {
		var ret protocol.SendIOCallReturns
		if err := h.peer.Call(ctx, protocol.MethodSendIOCall, c, &ret); err != nil {
			return err
		}
		if !ret.OK {
			return fmt.Errorf("testhost: re-sent IO call refused: %s", ret.Message)
		}
	}
	return nil
}

// Close cancels running transactions, closes the connection and waits for
// the host's goroutines.
func (h *Host) Close() {
	h.cancel()
	h.Drop()
	h.peer.Close()
	h.wg.Wait()
}

func (h *Host) handle(method string, data json.RawMessage) (any, error) {
	switch method {
	case protocol.MethodStartTransaction:
		var in protocol.StartTransactionInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		h.start(in)
		return nil, nil
	case protocol.MethodIOResponse:
		var in protocol.IOResponseInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		resp, err := protocol.DecodeIOResponse(in.Value)
		if err != nil {
			return nil, err
		}
		h.mu.Lock()
		t := h.txs[resp.TransactionID]
		p := h.pageS[resp.TransactionID]
		h.mu.Unlock()
		switch {
		case t != nil:
			t.deliver(resp)
		case p != nil:
			p.deliver(resp)
		}
		return nil, nil
	case protocol.MethodCloseTransaction:
		var in protocol.CloseTransactionInputs
		_ = json.Unmarshal(data, &in)
		h.mu.Lock()
		if t := h.txs[in.TransactionID]; t != nil {
			t.cancel()
		}
		h.mu.Unlock()
		return nil, nil
	case protocol.MethodOpenPage:
		var in protocol.OpenPageInputs
		if err := json.Unmarshal(data, &in); err != nil {
			return nil, err
		}
		pg, ok := h.pages[in.Page.Slug]
		if !ok || pg.Handler == nil {
			return protocol.OpenPageReturns{Type: "ERROR", Message: "No page handler found."}, nil
		}
		h.openPage(pg, in)
		return protocol.OpenPageReturns{Type: "SUCCESS", PageKey: in.PageKey}, nil
	case protocol.MethodClosePage:
		var in protocol.ClosePageInputs
		_ = json.Unmarshal(data, &in)
		h.mu.Lock()
		if p := h.pageS[in.PageKey]; p != nil {
			p.cancel()
			delete(h.pageS, in.PageKey)
		}
		h.mu.Unlock()
		return nil, nil
	}
	return nil, rpc.ErrNoResponse
}

// Tx is a running transaction.
type Tx struct {
	h        *Host
	ID       string
	Params   map[string]any
	User     protocol.User
	dri      bool
	ch       chan protocol.IOResponse
	ctx      context.Context
	cancel   context.CancelFunc
	logIdx   int
	mu       sync.Mutex
	lastCall string // the pending ioCall, re-sent after a reconnect
}

func (h *Host) start(in protocol.StartTransactionInputs) {
	a, ok := h.actions[in.Action.Slug]
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(h.ctx)
	t := &Tx{h: h, ID: in.TransactionID, User: in.User, ch: make(chan protocol.IOResponse, 64), ctx: ctx, cancel: cancel,
		dri: in.DisplayResolvesImmediately != nil && *in.DisplayResolvesImmediately}
	_ = json.Unmarshal(in.Params, &t.Params)
	h.mu.Lock()
	if _, dup := h.txs[t.ID]; dup {
		h.mu.Unlock()
		cancel()
		return
	}
	h.txs[t.ID] = t
	h.mu.Unlock()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer func() {
			h.mu.Lock()
			delete(h.txs, t.ID)
			h.mu.Unlock()
			cancel()
		}()
		res, err := a.Handler(ctx, t)
		if errors.Is(err, ErrCanceled) || ctx.Err() != nil {
			return
		}
		out := protocol.ActionResult{SchemaVersion: 1, Status: protocol.StatusSuccess}
		if err != nil {
			out.Status = protocol.StatusFailure
			out.Data, _ = json.Marshal(protocol.ErrorData{Error: "Error", Message: err.Error()})
		} else {
			v, meta, serr := protocol.Serialize(res)
			if serr != nil {
				v = fmt.Sprint(res)
			}
			out.Data, _ = json.Marshal(v)
			out.Meta = meta
		}
		text, _ := json.Marshal(out)
		cctx, ccancel := context.WithTimeout(h.ctx, 10*time.Second)
		defer ccancel()
		if err := h.peer.Call(cctx, protocol.MethodMarkTransactionComplete, protocol.MarkTransactionCompleteInputs{
			TransactionID: t.ID, ResultStatus: out.Status, Result: string(text)}, nil); err != nil {
			h.log.Warn("testhost: MARK_TRANSACTION_COMPLETE", "err", err)
		}
	}()
}

func (t *Tx) deliver(r protocol.IOResponse) {
	select {
	case t.ch <- r:
	default:
		t.h.log.Warn("testhost: dropping IO response; queue full")
	}
}

// Log sends a log line.
func (t *Tx) Log(text string) {
	i := t.logIdx
	t.logIdx++
	_ = t.h.peer.Call(t.ctx, protocol.MethodSendLog, protocol.SendLogInputs{TransactionID: t.ID, Data: text, Index: &i, Timestamp: time.Now().UnixMilli()}, nil)
}

// Loading sends a loading state.
func (t *Tx) Loading(s protocol.LoadingState) {
	_ = t.h.peer.Call(t.ctx, protocol.MethodSendLoadingCall, protocol.SendLoadingCallInputs{TransactionID: t.ID, LoadingState: s}, nil)
}

// Redirect sends a redirect.
func (t *Tx) Redirect(r protocol.Redirect) error {
	return t.h.peer.Call(t.ctx, protocol.MethodSendRedirect, protocol.SendRedirectInputs{TransactionID: t.ID, Redirect: r}, nil)
}

// Comp is one component of an IO call.
type Comp struct {
	Method   string
	Label    string
	Props    map[string]any
	Optional bool
	Multiple bool
	// MultipleDefault is a .multiple() component's default values.
	MultipleDefault []any
	// OnState answers a SET_STATE with props merged over Props; nil makes
	// the component stateless.
	OnState func(state json.RawMessage) map[string]any
	// Validate returns a message for a bad value (shown on the component).
	Validate func(v json.RawMessage) string

	errMsg string
}

// Answer is the result of an IO call: one raw value per component.
type Answer struct {
	Values []json.RawMessage
	Choice string
}

// CallOptions adds choice buttons and a group validator to an IO call.
type CallOptions struct {
	Choices  []protocol.ChoiceButton
	Validate func(a Answer) string
}

func isDisplay(m string) bool { return len(m) > 8 && m[:8] == "DISPLAY_" }

func buildRender(id, gk string, comps []*Comp, groupErr string, choices []protocol.ChoiceButton) (protocol.IORender, error) {
	r := protocol.IORender{ID: id, InputGroupKey: gk, Kind: protocol.KindRender, ValidationErrorMessage: groupErr, ChoiceButtons: choices,
		ToRender: make([]protocol.ComponentRender, len(comps))}
	for i, c := range comps {
		props := c.Props
		if props == nil {
			props = map[string]any{}
		}
		v, meta, err := protocol.Serialize(props)
		if err != nil {
			return r, err
		}
		pj, err := json.Marshal(v)
		if err != nil {
			return r, err
		}
		r.ToRender[i] = protocol.ComponentRender{MethodName: c.Method, Label: c.Label, Props: pj, PropsMeta: meta,
			IsStateful: c.OnState != nil, IsOptional: c.Optional, IsMultiple: c.Multiple, ValidationErrorMessage: c.errMsg}
		if c.MultipleDefault != nil {
			r.ToRender[i].MultipleProps = &protocol.MultipleProps{DefaultValue: c.MultipleDefault}
		}
	}
	return r, nil
}

// IO renders comps and waits for the operator's answer, handling state
// updates and validation re-renders.
func (t *Tx) IO(comps []*Comp, o CallOptions) (Answer, error) {
	ctx := t.ctx
	gk := uuid.NewString()
	groupErr := ""
	allDisplay := true
	for _, c := range comps {
		allDisplay = allDisplay && isDisplay(c.Method)
	}
	first := true
	for {
		r, err := buildRender(uuid.NewString(), gk, comps, groupErr, o.Choices)
		if err != nil {
			return Answer{}, err
		}
		text, _ := json.Marshal(r)
		t.mu.Lock()
		t.lastCall = string(text)
		t.mu.Unlock()
		var ret protocol.SendIOCallReturns
		if err := t.h.peer.Call(ctx, protocol.MethodSendIOCall, protocol.SendIOCallInputs{TransactionID: t.ID, IOCall: string(text)}, &ret); err != nil {
			if ctx.Err() != nil {
				return Answer{}, ErrCanceled
			}
			return Answer{}, err
		}
		if !ret.OK {
			return Answer{}, fmt.Errorf("testhost: SEND_IO_CALL refused: %s", ret.Message)
		}
		if first && allDisplay && len(o.Choices) == 0 && t.dri {
			return Answer{Values: make([]json.RawMessage, len(comps))}, nil
		}
		first = false
	wait:
		for {
			var resp protocol.IOResponse
			select {
			case <-ctx.Done():
				return Answer{}, ErrCanceled
			case resp = <-t.ch:
			}
			if resp.Kind == protocol.KindCanceled {
				return Answer{}, ErrCanceled
			}
			if resp.InputGroupKey != "" && resp.InputGroupKey != gk {
				continue
			}
			if len(resp.Values) != len(comps) {
				t.h.log.Warn("testhost: values length mismatch", "got", len(resp.Values), "want", len(comps))
				continue
			}
			switch resp.Kind {
			case protocol.KindSetState:
				for i, v := range resp.Values {
					if isNull(v) || comps[i].OnState == nil {
						continue
					}
					next := maps.Clone(comps[i].Props)
					maps.Copy(next, comps[i].OnState(v))
					comps[i].Props = next
				}
				break wait
			case protocol.KindReturn:
				bad := false
				for i, c := range comps {
					c.errMsg = ""
					if isDisplay(c.Method) {
						continue
					}
					if isNull(resp.Values[i]) && !c.Optional {
						c.errMsg = "This field is required."
					} else if c.Validate != nil && !isNull(resp.Values[i]) {
						c.errMsg = c.Validate(resp.Values[i])
					}
					bad = bad || c.errMsg != ""
				}
				ans := Answer{Values: resp.Values, Choice: resp.Choice}
				groupErr = ""
				if !bad && o.Validate != nil {
					groupErr = o.Validate(ans)
				}
				if bad || groupErr != "" {
					break wait
				}
				return ans, nil
			}
		}
	}
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// PageCtx is an open page.
type PageCtx struct {
	Key    string
	Slug   string
	Params map[string]any
	User   protocol.User
}

// Layout is a page layout; Children are rendered as one group.
type Layout struct {
	Title       string
	Description string
	MenuItems   []protocol.ButtonItem
	Children    []*Comp
}

type pageState struct {
	h      *Host
	ch     chan protocol.IOResponse
	cancel context.CancelFunc
}

func (p *pageState) deliver(r protocol.IOResponse) {
	select {
	case p.ch <- r:
	default:
	}
}

func (h *Host) openPage(pg Page, in protocol.OpenPageInputs) {
	ctx, cancel := context.WithCancel(h.ctx)
	ps := &pageState{h: h, ch: make(chan protocol.IOResponse, 16), cancel: cancel}
	h.mu.Lock()
	h.pageS[in.PageKey] = ps
	h.mu.Unlock()
	pc := &PageCtx{Key: in.PageKey, Slug: in.Page.Slug, User: in.User}
	_ = json.Unmarshal(in.Params, &pc.Params)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer cancel()
		l, err := pg.Handler(ctx, pc)
		gk := uuid.NewString()
		send := func() {
			out := protocol.Layout{Kind: "BASIC", Errors: []protocol.LayoutError{}}
			if err != nil {
				out.Errors = append(out.Errors, protocol.LayoutError{Error: "Error", Message: err.Error()})
			} else if l != nil {
				out.Title, out.Description, out.MenuItems = &l.Title, &l.Description, l.MenuItems
				if len(l.Children) > 0 {
					r, rerr := buildRender(uuid.NewString(), gk, l.Children, "", nil)
					if rerr == nil {
						out.Children = &r
					}
				}
			}
			text, _ := json.Marshal(out)
			s := string(text)
			if cerr := h.peer.Call(ctx, protocol.MethodSendPage, protocol.SendPageInputs{PageKey: in.PageKey, Page: &s}, nil); cerr != nil {
				h.log.Debug("testhost: SEND_PAGE", "err", cerr)
			}
		}
		send()
		for {
			select {
			case <-ctx.Done():
				return
			case resp := <-ps.ch:
				if resp.Kind != protocol.KindSetState || l == nil || len(resp.Values) != len(l.Children) {
					continue
				}
				for i, v := range resp.Values {
					c := l.Children[i]
					if isNull(v) || c.OnState == nil {
						continue
					}
					next := maps.Clone(c.Props)
					maps.Copy(next, c.OnState(v))
					c.Props = next
				}
				send()
			}
		}
	}()
}
