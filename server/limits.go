package server

import "fmt"

// Defaults of the per-socket limits in Options.
const (
	// DefaultHostCallsPerSecond is Options.HostCallsPerSecond's default.
	DefaultHostCallsPerSecond = hostCallsPerSecond
	// DefaultBrowserCallsPerSecond is Options.BrowserCallsPerSecond's
	// default (Interval's server allows browsers 50).
	DefaultBrowserCallsPerSecond = browserCallsPerSecond
	// DefaultInboxSize is Options.InboxSize's default.
	DefaultInboxSize = inboxSize
)

// socketLimits are the limits of one kind of socket (host or browser).
type socketLimits struct {
	rate  int  // calls a second before the socket is closed (1008; on average, bursts of 2×), or paced
	pace  bool // past rate, pause reading until the next second instead of closing
	inbox int  // received messages waiting for processing, at most
}

// limitsFrom sets the defaults of the limits in opts and returns the
// host's and the browser's; ErrBadOptions for a negative one.
func limitsFrom(opts *Options) (host, browser socketLimits, err error) {
	if opts.HostCallsPerSecond < 0 || opts.BrowserCallsPerSecond < 0 || opts.InboxSize < 0 {
		return host, browser, fmt.Errorf("%w: HostCallsPerSecond, BrowserCallsPerSecond and InboxSize may not be negative", ErrBadOptions)
	}
	if opts.HostCallsPerSecond == 0 {
		opts.HostCallsPerSecond = DefaultHostCallsPerSecond
	}
	if opts.BrowserCallsPerSecond == 0 {
		opts.BrowserCallsPerSecond = DefaultBrowserCallsPerSecond
	}
	if opts.InboxSize == 0 {
		opts.InboxSize = DefaultInboxSize
	}
	return socketLimits{rate: opts.HostCallsPerSecond, pace: true, inbox: opts.InboxSize},
		socketLimits{rate: opts.BrowserCallsPerSecond, inbox: opts.InboxSize}, nil
}
