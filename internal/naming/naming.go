// Package naming turns identifiers into the names the console shows: the
// one rule for action and page slugs without a name (router, server) and
// for the labels of form fields (interval.Form).
package naming

import (
	"strings"
	"unicode"
)

// Humanize returns the name Interval shows for an identifier, the rule of
// the Interval server's slugToName: the last path segment, split into
// words at "-", "_", ".", spaces and camelCase humps, every word
// lower-cased, then the first letter upper-cased (sentence case). An
// all-capitals identifier is lower-cased first, and a run of capitals is
// one word: "refund_user", "refundUser" and "RefundUser" → "Refund user",
// "APIKeys" → "Api keys", "UserID" → "User id", "HELLO_WORLD" → "Hello
// world". A run of capitals at the end or before a digit stays whole
// ("parseURL" → "Parse url", where Interval's server splits off its last
// letter). An identifier without letters or digits gives "".
func Humanize(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if s == strings.ToUpper(s) {
		s = strings.ToLower(s)
	}
	rs := []rune(s)
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
			flush()
			if j-i == 1 {
				cur = append(cur, r)
				continue
			}
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
	name := []rune(strings.Join(words, " "))
	if len(name) == 0 {
		return ""
	}
	name[0] = unicode.ToUpper(name[0])
	return string(name)
}
