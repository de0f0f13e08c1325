package router

import (
	"fmt"
	"strings"

	"github.com/interval-go/sdk/internal/naming"
)

func validSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkActionSlug panics unless slug is a valid local action slug.
func checkActionSlug(method, slug string) {
	if !validSegment(slug) {
		panic(fmt.Sprintf("router: %s(%q): invalid action slug: want one or more of A-Z a-z 0-9 _ . - (no \"/\": use Route for pages)", method, slug))
	}
}

// splitPath returns the segments of a page path, or nil when it is invalid.
func splitPath(path string) []string {
	segs := strings.Split(path, "/")
	for _, s := range segs {
		if !validSegment(s) {
			return nil
		}
	}
	return segs
}

// checkPagePath panics unless path is a valid page path and returns its
// segments.
func checkPagePath(method, path string) []string {
	segs := splitPath(path)
	if segs == nil {
		panic(fmt.Sprintf("router: %s(%q): invalid page slug: want segments of A-Z a-z 0-9 _ . - joined by \"/\", none empty", method, path))
	}
	return segs
}

// Humanize returns the name the console shows for a slug without an explicit
// Name, by the rule of Interval's server (sentence case): the last path
// segment, split at "-", "_", "." and camelCase humps, lower-cased, with the
// first letter upper-cased. An all-capitals slug is lower-cased first, and a
// run of capitals stays one word: "refund_user", "refundUser" and
// "RefundUser" → "Refund user", "parseURLQuery" → "Parse url query",
// "APIKeys" → "Api keys". The embedded server names a host's actions and
// pages, and interval.Form its fields' labels, by the same rule.
func Humanize(slug string) string { return naming.Humanize(slug) }
