package interval

import "context"

// IOCall describes one IO call to an IOHook: the components shown
// together by one Run (a component's, or a Group's), in order.
type IOCall struct {
	// Methods are the components' method names ("INPUT_TEXT",
	// "DISPLAY_TABLE", …), as the protocol names them.
	Methods []string
	// Labels are the components' labels, as the action's code wrote them
	// (they may hold data the code put in them).
	Labels []string
	// Choices is the number of submit buttons (WithChoices).
	Choices int
}

// IOHook observes IO calls: it is called when a Run of a component or a
// Group begins, before anything is sent, and returns the context the call
// runs with (the one it was given, or one derived from it) and a function
// the call calls once when it returns, with Run's error (nil when the
// operator answered, ErrCanceled when they canceled, a context error when
// the transaction or page ended). Tracing middleware (package
// middleware/otelinterval) uses it for a span per IO call.
//
// A hook must not block: the transaction waits for it.
type IOHook func(ctx context.Context, call IOCall) (context.Context, func(err error))

type ioHookKey struct{}

// WithIOHook returns a copy of ctx whose IO calls report to h: set it on
// the ctx a middleware passes to the next handler, and every Run given
// that ctx, or a context derived from it, calls h. A hook set on a
// context that already has one replaces it for the new context (wrap the
// earlier one, IOHookFrom, to keep both).
func WithIOHook(ctx context.Context, h IOHook) context.Context {
	return context.WithValue(ctx, ioHookKey{}, h)
}

// IOHookFrom returns the IOHook of ctx, or nil.
func IOHookFrom(ctx context.Context) IOHook {
	h, _ := ctx.Value(ioHookKey{}).(IOHook)
	return h
}

// runHooked is run with an IOHook: the call runs with the hook's context
// and reports its end. Not inlined, so that run's frame stays small for
// the transactions without a hook.
//
//go:noinline
func (c *ioClient) runHooked(ctx context.Context, h IOHook, comps []*component, choices []Choice, groupValidate func(choice string) error) (choice string, err error) {
	info := IOCall{Methods: make([]string, len(comps)), Labels: make([]string, len(comps)), Choices: len(choices)}
	for i, cp := range comps {
		info.Methods[i], info.Labels[i] = cp.method, cp.label
	}
	ctx, done := h(ctx, info)
	if done != nil {
		defer func() { done(err) }()
	}
	call, err := c.begin(ctx, comps, choices, groupValidate)
	if err != nil {
		return "", err
	}
	defer c.end(ctx, call)
	return call.serve(ctx)
}
