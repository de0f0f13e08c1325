package markup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// SafeURL reports whether a host's URL may reach the console as a link, an
// image or video source or a redirect: any URL but one whose scheme runs
// script (javascript:, vbscript:) or carries a document (data: other than
// image/, video/ or audio/). The scheme is read as browsers read it:
// leading spaces and control characters are ignored, tabs and newlines
// inside are dropped, case does not matter. A relative URL has no scheme
// and is safe. The console applies the same rule (lib/util.js safeURL).
func SafeURL(s string) bool {
	switch scheme, rest := splitScheme(s); scheme {
	case "javascript", "vbscript", "livescript":
		return false
	case "data":
		mt, _, _ := strings.Cut(strings.ToLower(strings.TrimLeft(rest, " ")), ",")
		mt, _, _ = strings.Cut(mt, ";")
		mt = strings.TrimSpace(mt)
		return strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "video/") || strings.HasPrefix(mt, "audio/")
	}
	return true
}

// splitScheme returns s's scheme, lower-cased, and what follows its colon,
// as the URL standard parses them; "" for a relative URL.
func splitScheme(s string) (string, string) {
	s = strings.TrimLeft(s, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return strings.ToLower(s[:i]), s[i+1:]
		default:
			return "", s
		}
	}
	return "", s
}

// urlKeys are the props that hold URLs, at any depth: a link's href (and
// its older name url), image and video url, metadata, table cell, grid
// item and menu item url, an option's imageUrl.
var urlKeys = map[string]bool{"url": true, "href": true, "imageUrl": true, "src": true}

// mayHoldUnsafeURL is a fast check that raw JSON holds no string SafeURL
// refuses: such a string has "script:" or "data:" in it unless it is
// written with escapes.
func mayHoldUnsafeURL(raw []byte) bool {
	low := bytes.ToLower(raw)
	for _, s := range []string{"script:", "data:", `\u`, `\t`, `\n`, `\r`} {
		if bytes.Contains(low, []byte(s)) {
			return true
		}
	}
	return false
}

// dropUnsafeURLs replaces every string SafeURL refuses under a URL key
// (urlKeys) anywhere in raw with "", so the console shows no link, image
// or video for it. Everything else is kept as it was; raw is returned
// as it is when nothing changed.
func dropUnsafeURLs(raw json.RawMessage) (json.RawMessage, bool, error) {
	if !mayHoldUnsafeURL(raw) {
		return raw, false, nil
	}
	return walkURLs(raw)
}

func walkURLs(raw json.RawMessage) (json.RawMessage, bool, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return raw, false, nil
	}
	switch t[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		changed := false
		for k, v := range m {
			var s string
			if urlKeys[k] && json.Unmarshal(v, &s) == nil {
				if !SafeURL(s) {
					m[k] = json.RawMessage(`""`)
					changed = true
				}
				continue
			}
			nv, did, err := walkURLs(v)
			if err != nil {
				return nil, false, err
			}
			if did {
				m[k], changed = nv, true
			}
		}
		if !changed {
			return raw, false, nil
		}
		b, err := marshal(m)
		return b, true, err
	case '[':
		var a []json.RawMessage
		if err := json.Unmarshal(t, &a); err != nil {
			return nil, false, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		changed := false
		for i, v := range a {
			nv, did, err := walkURLs(v)
			if err != nil {
				return nil, false, err
			}
			if did {
				a[i], changed = nv, true
			}
		}
		if !changed {
			return raw, false, nil
		}
		b, err := marshal(a)
		return b, true, err
	}
	return raw, false, nil
}
