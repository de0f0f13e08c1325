package interval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/interval-go/sdk/internal/protocol"
)

// IO holds the IO method families of a transaction. Each method returns a
// component; call its Run method to show it and wait for the operator, or
// pass several to Group.
type IO struct {
	// Input asks for typed values: text, numbers, booleans, emails, ….
	Input InputIO
	// Display shows information: headings, markdown, ….
	Display DisplayIO
	// Select asks the operator to choose among options.
	Select SelectIO

	c *ioClient
}

// InputIO is the io.input family.
type InputIO struct{ c *ioClient }

// DisplayIO is the io.display family.
type DisplayIO struct{ c *ioClient }

// SelectIO is the io.select family.
type SelectIO struct{ c *ioClient }

func newIO(c *ioClient) *IO {
	return &IO{Input: InputIO{c}, Display: DisplayIO{c}, Select: SelectIO{c}, c: c}
}

// Errors of IO calls.
var (
	// ErrExclusive is returned when a component that must be alone (Confirm,
	// ConfirmIdentity) is put in a group.
	ErrExclusive = errors.New("interval: component cannot be part of a group")
	// ErrEmptyGroup is returned by Group.Run without components.
	ErrEmptyGroup = errors.New("interval: group has no components")
	// ErrForeignComponent is returned when a component created by another
	// transaction is rendered.
	ErrForeignComponent = errors.New("interval: component belongs to another transaction")
	// ErrPageComponent is returned by Run on a component built with
	// Page.Display: page components are shown by returning them in a Layout.
	ErrPageComponent = errors.New("interval: page components are shown through the page's Layout, not Run")
)

// Component is one IO component: an input, a display or a select. Build it
// with a method of tx.IO and render it alone with its Run method or with
// others in tx.IO.Group.
type Component interface {
	core() *component
}

// component is the untyped core every IO component embeds.
type component struct {
	io     *ioClient
	method string
	label  string
	props  func() any // the method's props, encoded with superjson
	// rawProps, when set, replaces props: it returns the superjson json
	// half and meta half itself (tables add "undefined" annotations).
	rawProps  func() (plain any, meta json.RawMessage, err error)
	optional  bool
	multiple  bool
	multiDef  []any
	stateful  bool
	display   bool // returns null; resolves at once with displayResolvesImmediately
	immediate bool // always resolves at once (progress displays)
	exclusive bool
	errMsg    string
	// parse decodes and validates the operator's value. It returns a
	// function that stores the value (called once the whole call is valid)
	// or a message shown on the component.
	parse func(raw json.RawMessage) (commit func(), msg string)
	// clear resets the value when an optional component is left empty.
	clear func()
	// onState handles a SET_STATE for a stateful component.
	onState func(ctx context.Context, raw json.RawMessage) error
	// setPresent records whether an optional component was answered.
	present bool
	err     error // a construction error reported by Run
	// shown, when set, runs once in the background after the component's
	// first render was sent; it may call rerender to show new props (lazy
	// metadata values).
	shown     func(ctx context.Context, rerender func())
	shownDone bool
}

func (c *component) core() *component { return c }

func (c *component) render() (protocol.ComponentRender, error) {
	r := protocol.ComponentRender{
		MethodName:             c.method,
		Label:                  c.label,
		IsStateful:             c.stateful,
		IsOptional:             c.optional,
		IsMultiple:             c.multiple,
		ValidationErrorMessage: c.errMsg,
	}
	if c.multiple { // {} without defaults, as the Node SDK sends
		r.MultipleProps = &protocol.MultipleProps{DefaultValue: c.multiDef}
	}
	var p any = struct{}{}
	if c.props != nil {
		p = c.props()
	}
	if c.rawProps == nil {
		js, meta, err := protocol.SerializeJSON(p)
		if err != nil {
			return r, fmt.Errorf("interval: %s %q props: %w", c.method, c.label, err)
		}
		r.Props, r.PropsMeta = js, meta
		return r, nil
	}
	plain, meta, err := c.rawProps()
	if err != nil {
		return r, fmt.Errorf("interval: %s %q props: %w", c.method, c.label, err)
	}
	if r.Props, err = protocol.Marshal(plain); err != nil {
		return r, fmt.Errorf("interval: %s %q props: %w", c.method, c.label, err)
	}
	r.PropsMeta = meta
	return r, nil
}

// ioClient renders IO calls for one transaction or page.
type ioClient struct {
	tx        *txState
	send      func(ctx context.Context, ioCall string) error
	responses <-chan *protocol.IOResponse
	dri       bool
	mu        sync.Mutex // one IO call at a time
}

// Choice is a submit button of an IO call: the operator's click returns its
// Value.
type Choice struct {
	Label string
	Value string
	// Theme is "primary", "secondary" or "danger"; empty is the default.
	Theme string
}

// ChoiceOf returns a Choice whose label and value are both s.
func ChoiceOf(s string) Choice { return Choice{Label: s, Value: s} }

func wireChoices(cs []Choice) []protocol.ChoiceButton {
	if len(cs) == 0 {
		return nil
	}
	out := make([]protocol.ChoiceButton, len(cs))
	for i, c := range cs {
		v := c.Value
		if v == "" {
			v = c.Label
		}
		out[i] = protocol.ChoiceButton{Label: c.Label, Value: v, Theme: c.Theme}
	}
	return out
}

// ctxErr maps a context's end to the error IO methods return.
func ctxErr(ctx context.Context) error {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, ErrCanceled):
		return ErrCanceled
	case errors.Is(cause, ErrClosed):
		return ErrClosed
	case errors.Is(cause, ErrRender):
		return cause // the server refused the call (resendPending)
	}
	return ctx.Err()
}

// run renders comps as one IO call and waits until the operator submits
// valid values (stored in each component), re-rendering with validation
// messages and state changes. It returns the clicked choice ("" for the
// default button).
//
// Thousands of transactions may wait here at once, each on its goroutine's
// stack, so the frames under the wait are kept small: run, serve and await
// hold only a few words each, and the work between waits (checks, rendering,
// answers) lives in functions that are not inlined into them. With those
// frames the runtime shrinks a waiting goroutine's stack back to 4 KiB after
// a deep render (BENCHMARKS.md, memory per waiting transaction).
func (c *ioClient) run(ctx context.Context, comps []*component, choices []Choice, groupValidate func(choice string) error) (string, error) {
	if h := IOHookFrom(ctx); h != nil {
		return c.runHooked(ctx, h, comps, choices, groupValidate)
	}
	call, err := c.begin(ctx, comps, choices, groupValidate)
	if err != nil {
		return "", err
	}
	defer c.end(ctx, call)
	return call.serve(ctx)
}

// begin checks comps and choices, takes c.mu (released by end) and creates
// the call.
//
//go:noinline
func (c *ioClient) begin(ctx context.Context, comps []*component, choices []Choice, groupValidate func(choice string) error) (*pendingCall, error) {
	if len(comps) == 0 {
		return nil, ErrEmptyGroup
	}
	if c == nil {
		return nil, ErrForeignComponent
	}
	for _, ch := range choices {
		if !validTheme(ch.Theme) {
			return nil, fmt.Errorf("interval: choice %q: theme %q is not primary, secondary or danger", ch.Label, ch.Theme)
		}
	}
	for _, cp := range comps {
		if cp.err != nil {
			return nil, cp.err
		}
		if cp.io != c {
			return nil, ErrForeignComponent
		}
		if cp.exclusive && len(comps) > 1 {
			return nil, fmt.Errorf("%w: %s %q", ErrExclusive, cp.method, cp.label)
		}
		cp.errMsg = ""
	}
	if c.send == nil {
		return nil, ErrPageComponent
	}
	if ctx.Err() != nil {
		return nil, ctxErr(ctx)
	}
	c.mu.Lock()
	c.drainQueued(ctx)
	call := newPendingCall(c, comps, choices, groupValidate)
	if t := c.tx; t != nil && !call.resolvesAtOnce {
		// A call that resolves at once never reads the queue: state
		// updates of its tables go straight to the call (outOfBand), even
		// the ones that arrive before Run returned.
		t.setActive(call)
	}
	return call, nil
}

// end undoes begin: state updates that arrive from now on are handled out
// of band, the ones queued meanwhile are applied, and c.mu is released.
//
//go:noinline
func (c *ioClient) end(ctx context.Context, call *pendingCall) {
	if t := c.tx; t != nil && !call.resolvesAtOnce {
		t.setActive(nil)
		c.drainQueued(ctx)
	}
	c.mu.Unlock()
}

// serve shows the call and handles the operator's responses until one
// completes it.
func (p *pendingCall) serve(ctx context.Context) (string, error) {
	for {
		if err := p.show(ctx); err != nil {
			return "", err
		}
		if p.resolvesAtOnce {
			return "", nil
		}
		for {
			resp := p.c.await(ctx)
			if resp == nil {
				return "", ctxErr(ctx)
			}
			rerender, done, choice := p.answer(ctx, resp)
			if done {
				return choice, nil
			}
			if rerender {
				break
			}
		}
	}
}

// show sends the call's render (ordered by the call's lock with state
// updates handled out of band, for a table shown with the append UI) and
// starts the components' shown hooks.
//
//go:noinline
func (p *pendingCall) show(ctx context.Context) error {
	p.mu.Lock()
	err := p.send(ctx)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	p.startShown()
	return nil
}

// answer applies one response to the call under its lock.
//
//go:noinline
func (p *pendingCall) answer(ctx context.Context, resp *protocol.IOResponse) (rerender, done bool, choice string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rerender, done, choice = p.handle(ctx, resp)
	p.finished = done
	return rerender, done, choice
}

// await waits for the next response to c's calls; nil when ctx ends first.
//
//go:noinline
func (c *ioClient) await(ctx context.Context) *protocol.IOResponse {
	select {
	case <-ctx.Done():
		return nil
	case resp := <-c.responses:
		return resp
	}
}

// drainQueued empties the queue of responses nobody waits for: answers to
// earlier calls are dropped, but a state update queued while its stateful
// call was finishing is applied to that call, which re-renders.
func (c *ioClient) drainQueued(ctx context.Context) {
	for {
		select {
		case resp := <-c.responses:
			if resp.Kind != protocol.KindSetState || c.tx == nil {
				continue
			}
			if p := c.tx.outOfBand(resp); p != nil {
				p.setState(ctx, resp)
			}
		default:
			return
		}
	}
}

// pendingCall is one IO call (one inputGroupKey) being answered.
type pendingCall struct {
	mu             sync.Mutex // serializes state updates after the call returned
	states         stateQueue // state updates that arrive after the call returned
	stateful       bool
	c              *ioClient
	comps          []*component
	choices        []Choice
	groupValidate  func(choice string) error
	render         protocol.IORender
	resolvesAtOnce bool
	finished       bool // the operator's answer completed the call
}

// startShown starts, in one background goroutine, the shown hooks of the
// call's components (once per component). Their re-renders update the call
// where it is shown: always with the append UI; otherwise only while the
// call waits for the operator, so that an old form never replaces the
// next one. The goroutine is work (goWork): Shutdown waits for it, Close
// does not.
func (p *pendingCall) startShown() {
	var hooks []func(context.Context, func())
	for _, cp := range p.comps {
		if cp.shown != nil && !cp.shownDone {
			cp.shownDone = true
			hooks = append(hooks, cp.shown)
		}
	}
	if len(hooks) == 0 || p.c.tx == nil {
		return
	}
	cl := p.c.tx.c
	rerender := func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.finished && !p.c.dri {
			return
		}
		ctx, cancel := context.WithTimeout(cl.life, cl.opts.ResponseTimeout)
		defer cancel()
		if err := p.send(ctx); err != nil {
			p.c.logger().Warn("re-render with lazy values failed", "err", err)
		}
	}
	cl.goWork(func() {
		for _, h := range hooks {
			h(cl.life, rerender)
		}
	})
}

func newPendingCall(c *ioClient, comps []*component, choices []Choice, groupValidate func(string) error) *pendingCall {
	p := &pendingCall{c: c, comps: comps, choices: choices, groupValidate: groupValidate}
	p.render = protocol.IORender{InputGroupKey: uuid.NewString(), Kind: protocol.KindRender, ChoiceButtons: wireChoices(choices)}
	p.render.ToRender = make([]protocol.ComponentRender, len(comps))
	p.resolvesAtOnce = len(choices) == 0
	for _, cp := range comps {
		if !(cp.immediate || (cp.display && c.dri)) {
			p.resolvesAtOnce = false
		}
		if cp.stateful && cp.onState != nil {
			p.stateful = true
		}
	}
	if p.stateful && c.tx != nil {
		c.tx.keepStateful(p)
	}
	return p
}

// setState handles a SET_STATE that arrives after the call returned (a
// table shown with the append UI stays pageable, as in the official SDK).
func (p *pendingCall) setState(ctx context.Context, resp *protocol.IOResponse) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rerender, _, _ := p.handle(ctx, resp); rerender {
		if err := p.send(ctx); err != nil {
			p.c.logger().Warn("re-render after state update failed", "err", err)
		}
	}
}

// send renders every component with a fresh render id and sends the call.
func (p *pendingCall) send(ctx context.Context) error {
	p.render.ID = uuid.NewString()
	for i, cp := range p.comps {
		r, err := cp.render()
		if err != nil {
			return err
		}
		p.render.ToRender[i] = r
	}
	b, err := protocol.AppendIORender(make([]byte, 0, 512), &p.render)
	if err != nil {
		return fmt.Errorf("interval: encoding IO call: %w", err)
	}
	p.render.ValidationErrorMessage = ""
	if err := p.c.send(ctx, string(b)); err != nil {
		if ctx.Err() != nil {
			return ctxErr(ctx)
		}
		return err
	}
	return nil
}

// handle applies one response: it reports whether to re-render (validation
// messages, new state) or that the call is done with the clicked choice.
// Stale and unknown responses change nothing.
func (p *pendingCall) handle(ctx context.Context, resp *protocol.IOResponse) (rerender, done bool, choice string) {
	comps := p.comps
	if resp.InputGroupKey != "" && resp.InputGroupKey != p.render.InputGroupKey {
		return false, false, "" // a stale answer to an earlier call
	}
	switch resp.Kind {
	case protocol.KindSetState:
		changed := false
		for i, raw := range resp.Values {
			if i >= len(comps) || isNull(raw) || comps[i].onState == nil {
				continue
			}
			if err := comps[i].onState(ctx, raw); err != nil {
				p.c.logger().Warn("state update failed", "component", comps[i].label, "err", err)
				continue
			}
			changed = true
		}
		return changed, false, ""
	case protocol.KindReturn:
	default:
		return false, false, ""
	}
	if len(resp.Values) != len(comps) {
		p.c.logger().Warn("IO response with wrong number of values", "got", len(resp.Values), "want", len(comps))
		p.render.ValidationErrorMessage = "The submitted form did not match; please submit again."
		return true, false, ""
	}
	values := resp.Values
	if len(resp.ValuesMeta) > 0 {
		values = deserializeValues(values, resp.ValuesMeta)
	}
	commits := make([]func(), 0, len(comps))
	invalid := false
	for i, cp := range comps {
		raw := values[i]
		if cp.display || cp.immediate {
			continue
		}
		if isNull(raw) {
			if !cp.optional {
				cp.errMsg = "This field is required."
				invalid = true
				continue
			}
			cp.errMsg = ""
			cp := cp
			commits = append(commits, func() {
				cp.present = false
				if cp.clear != nil {
					cp.clear() // no value left from an earlier answer
				}
			})
			continue
		}
		commit, msg := cp.parse(raw)
		cp.errMsg = msg
		if msg != "" {
			invalid = true
			continue
		}
		cp := cp
		commits = append(commits, func() { cp.present = true; commit() })
	}
	if invalid {
		return true, false, ""
	}
	choice = resp.Choice
	if len(p.choices) == 0 && choice == "Continue" {
		choice = ""
	}
	for _, commit := range commits {
		commit()
	}
	if p.groupValidate != nil {
		if err := p.groupValidate(choice); err != nil {
			var fe *fieldError
			if errors.As(err, &fe) && fe.c != nil && slices.Contains(comps, fe.c) {
				fe.c.errMsg = fe.msg
			} else {
				p.render.ValidationErrorMessage = err.Error()
			}
			return true, false, ""
		}
	}
	return false, true, choice
}

func (c *ioClient) logger() interface {
	Warn(msg string, args ...any)
} {
	if c.tx != nil {
		return c.tx.c.log
	}
	return discardLogger
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// deserializeValues applies superjson meta to the values array, keeping the
// raw form of each (Dates become their ISO strings again, which every
// component accepts).
func deserializeValues(values []json.RawMessage, meta json.RawMessage) []json.RawMessage {
	raw, err := json.Marshal(values)
	if err != nil {
		return values
	}
	v, err := protocol.Deserialize(raw, meta)
	if err != nil {
		return values
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != len(values) {
		return values
	}
	out := make([]json.RawMessage, len(arr))
	for i, x := range arr {
		b, err := json.Marshal(x)
		if err != nil {
			return values
		}
		out[i] = b
	}
	return out
}

// Group renders several components as one form. After Run, each component
// holds its value (read it with the component's Value method).
type Group struct {
	c        *ioClient
	comps    []Component
	choices  []Choice
	validate func(choice string) error
}

// Group returns a group of components shown together as one form.
// Confirm and ConfirmIdentity cannot be part of a group.
func (io *IO) Group(components ...Component) *Group {
	return &Group{c: io.c, comps: components}
}

// WithChoices replaces the submit button with these buttons; Run returns
// the value of the one clicked.
func (g *Group) WithChoices(choices ...Choice) *Group {
	g.choices = choices
	return g
}

// Validate sets a check run when all components are individually valid; a
// non-nil error is shown on the whole form and the operator submits again.
// choice is the clicked button's value ("" for the default button).
func (g *Group) Validate(fn func(choice string) error) *Group {
	g.validate = fn
	return g
}

// Run shows the group and waits for the operator's valid answer. It returns
// the clicked choice's value ("" for the default submit button), or
// ErrCanceled when the operator cancels.
func (g *Group) Run(ctx context.Context) (choice string, err error) {
	comps := make([]*component, len(g.comps))
	for i, c := range g.comps {
		if c == nil {
			return "", fmt.Errorf("interval: group component %d is nil", i)
		}
		comps[i] = c.core()
	}
	return g.c.run(ctx, comps, g.choices, g.validate)
}

// fieldError is a group validation error shown on one component rather
// than on the whole form (see FieldError).
type fieldError struct {
	c   *component
	msg string
}

// Error returns the message shown on the component.
func (e *fieldError) Error() string { return e.msg }

// FieldError returns an error for a group's Validate function that is
// shown on component c instead of on the whole form.
func FieldError(c Component, msg string) error {
	if c == nil {
		return errors.New(msg)
	}
	return &fieldError{c: c.core(), msg: msg}
}
