package router

import (
	"fmt"
	"strings"
	"unicode"
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
// Name, the way Interval names routesDirectory folders: the last path
// segment, split at "-", "_", "." and camelCase humps, lower-cased, with the
// first letter upper-cased. An all-capitals slug is lower-cased first, and a
// run of capitals stays one word: "refund_user" and "refundUser" → "Refund
// user", "parseURLQuery" → "Parse url query", "APIKeys" → "Api keys".
func Humanize(slug string) string {
	if i := strings.LastIndexByte(slug, '/'); i >= 0 {
		slug = slug[i+1:]
	}
	if slug == strings.ToUpper(slug) {
		slug = strings.ToLower(slug)
	}
	rs := []rune(slug)
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '-' || r == '_' || r == '.' || unicode.IsSpace(r):
			flush()
		case unicode.IsUpper(r):
			// A run of capitals: all but the last form one word when the
			// last starts a new camelCase word ("URLQuery"), all of them
			// otherwise ("parseURL", "URL2").
			j := i
			for j < len(rs) && unicode.IsUpper(rs[j]) {
				j++
			}
			if j-i == 1 {
				flush()
				cur = append(cur, r)
				continue
			}
			flush()
			end := j
			if j < len(rs) && unicode.IsLower(rs[j]) {
				end = j - 1
			}
			cur = append(cur, rs[i:end]...)
			flush()
			i = end - 1
		default:
			cur = append(cur, r)
		}
	}
	flush()
	name := strings.Join(words, " ")
	if name == "" {
		return ""
	}
	first := []rune(name)
	first[0] = unicode.ToUpper(first[0])
	return string(first)
}
