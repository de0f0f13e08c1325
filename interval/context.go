package interval

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/interval-go/sdk/internal/protocol"
)

const (
	maxLogLength  = 10000
	loadingBuffer = 100 * time.Millisecond
)

// Log appends a line to the transaction's log in the console. Arguments are
// joined by spaces: strings as they are, other values as indented JSON, like
// the official SDK's ctx.log. Lines longer than 10,000 characters are cut.
func (tx *Tx) Log(ctx context.Context, args ...any) error {
	parts := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			parts[i] = v
		case error:
			parts[i] = v.Error()
		case fmt.Stringer:
			parts[i] = v.String()
		default:
			b, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				parts[i] = fmt.Sprint(v)
			} else {
				parts[i] = string(b)
			}
		}
	}
	data := strings.Join(parts, " ")
	if utf8.RuneCountInString(data) > maxLogLength {
		data = string([]rune(data)[:maxLogLength]) + "..." + "\n^ Warning: 10k logline character limit reached.\nTo avoid this error, try separating your data into multiple ctx.log() calls."
	}
	t := tx.t
	t.mu.Lock()
	idx := t.logIndex
	t.logIndex++
	t.mu.Unlock()
	var ok bool
	err := t.c.call(ctx, protocol.MethodSendLog, protocol.SendLogInputs{
		TransactionID: t.id, Data: data, Index: &idx, Timestamp: time.Now().UnixMilli(),
	}, &ok)
	if err != nil {
		return fmt.Errorf("interval: sending log: %w", err)
	}
	return nil
}

// Redirect says where the console goes when the transaction ends or right
// away: to another action or page (Route with Params) or to a URL.
type Redirect struct {
	// Route is an action's or page's full slug.
	Route  string
	Params map[string]any
	// URL is an absolute URL to open instead of a route.
	URL string
	// Download, with URL, makes the browser download the file at URL,
	// saved under this name, instead of opening it.
	Download string
	// Replace replaces the current history entry instead of adding one.
	Replace bool
}

// Redirect sends the operator elsewhere (SEND_REDIRECT).
func (tx *Tx) Redirect(ctx context.Context, r Redirect) error {
	return tx.t.c.redirect(ctx, tx.ID, r)
}

// LoadingState is what the console's loading indicator shows.
type LoadingState struct {
	Label       string
	Description string
	// ItemsInQueue shows progress as ItemsCompleted of ItemsInQueue.
	ItemsInQueue int
}

// Loading controls a transaction's loading indicator. Updates are
// coalesced for 100 ms; the next IO call clears the indicator.
type Loading struct {
	t *txState
}

// Start shows the indicator; with ItemsInQueue the completed count starts
// at 0.
func (l *Loading) Start(s LoadingState) {
	st := &protocol.LoadingState{Label: s.Label, Description: s.Description}
	if s.ItemsInQueue > 0 {
		st.ItemsInQueue = ptr(s.ItemsInQueue)
		st.ItemsCompleted = ptr(0)
	}
	l.set(func(*protocol.LoadingState) *protocol.LoadingState { return st })
}

// Update changes the label, description or queue size, keeping the rest.
func (l *Loading) Update(s LoadingState) {
	l.set(func(cur *protocol.LoadingState) *protocol.LoadingState {
		if cur == nil {
			cur = &protocol.LoadingState{}
		}
		if s.Label != "" {
			cur.Label = s.Label
		}
		if s.Description != "" {
			cur.Description = s.Description
		}
		if s.ItemsInQueue > 0 {
			cur.ItemsInQueue = ptr(s.ItemsInQueue)
			if cur.ItemsCompleted == nil {
				cur.ItemsCompleted = ptr(0)
			}
		}
		return cur
	})
}

// CompleteOne counts one more item done (after Start with ItemsInQueue).
func (l *Loading) CompleteOne() {
	l.set(func(cur *protocol.LoadingState) *protocol.LoadingState {
		if cur == nil || cur.ItemsInQueue == nil {
			return cur
		}
		n := 1
		if cur.ItemsCompleted != nil {
			n = *cur.ItemsCompleted + 1
		}
		cur.ItemsCompleted = ptr(n)
		return cur
	})
}

func (l *Loading) set(update func(*protocol.LoadingState) *protocol.LoadingState) {
	t := l.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return
	}
	var cur *protocol.LoadingState
	if t.loading != nil {
		cp := *t.loading
		cur = &cp
	}
	t.loading = update(cur)
	if t.loading == nil || t.loadScheduled {
		// A send is already scheduled; it will carry the new state. It is
		// not put off: an action updating more often than loadingBuffer
		// would never have its progress shown.
		return
	}
	t.loadScheduled = true
	t.loadTimer = time.AfterFunc(loadingBuffer, t.flushLoading)
}

func (t *txState) flushLoading() {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	t.mu.Lock()
	st, done := t.loading, t.done
	t.loadScheduled = false
	t.mu.Unlock()
	if st == nil || done {
		return
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.c.opts.ResponseTimeout)
	defer cancel()
	var ok bool
	if err := t.c.call(ctx, protocol.MethodSendLoadingCall, protocol.SendLoadingCallInputs{TransactionID: t.id, LoadingState: *st}, &ok); err != nil {
		t.c.log.Debug("loading state not sent", "transaction", t.id, "err", err)
	}
}
