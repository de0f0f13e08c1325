package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Frame types of the ISocket layer.
const (
	FrameMessage = "MESSAGE"
	FrameAck     = "ACK"
)

// Control strings carried in the data of a MESSAGE frame.
const (
	DataAuthenticated = "authenticated"
	DataPing          = "ping"
)

// ErrMalformed is wrapped by every decoding error of this package.
var ErrMalformed = errors.New("protocol: malformed message")

// Frame is one websocket text frame: a MESSAGE carrying a string, or the ACK
// of a MESSAGE.
type Frame struct {
	Type string
	ID   string
	Data string // MESSAGE only
}

// AppendMessage appends the JSON of a MESSAGE frame to b, with the key order
// of the Node SDK: {"id":…,"data":…,"type":"MESSAGE"}.
func AppendMessage(b []byte, id, data string) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"data":`...)
	b = appendJSONString(b, data)
	b = append(b, `,"type":"MESSAGE"}`...)
	return b
}

// AppendAck appends the JSON of the ACK of message id to b:
// {"type":"ACK","id":…}.
func AppendAck(b []byte, id string) []byte {
	b = append(b, `{"type":"ACK","id":`...)
	b = appendJSONString(b, id)
	return append(b, '}')
}

type rawFrame struct {
	Type string  `json:"type"`
	ID   string  `json:"id"`
	Data *string `json:"data"`
}

// DecodeFrame parses one websocket text frame. A MESSAGE must carry a string
// in data; an ACK may carry no data or null (Python sends null).
func DecodeFrame(p []byte) (Frame, error) {
	if f, ok := decodeFrameFast(p); ok {
		return f, nil
	}
	return decodeFrameSlow(p)
}

// decodeFrameFast decodes the exact shapes the Node SDK and this package
// write ({"type":"ACK","id":…} and {"id":…,"data":…,"type":"MESSAGE"}) with
// few allocations. It reports false for anything else, which then goes
// through encoding/json; when it reports true the result is what
// decodeFrameSlow returns.
func decodeFrameFast(p []byte) (Frame, bool) {
	const (
		ackPrefix = `{"type":"ACK","id":"`
		msgPrefix = `{"id":"`
		msgData   = `","data":`
		msgSuffix = `,"type":"MESSAGE"}`
	)
	if bytes.HasPrefix(p, []byte(ackPrefix)) && bytes.HasSuffix(p, []byte(`"}`)) && len(p) >= len(ackPrefix)+2 {
		id := p[len(ackPrefix) : len(p)-2]
		if len(id) == 0 || !plainASCII(id) {
			return Frame{}, false
		}
		return Frame{Type: FrameAck, ID: string(id)}, true
	}
	if !bytes.HasPrefix(p, []byte(msgPrefix)) || !bytes.HasSuffix(p, []byte(msgSuffix)) || len(p) < len(msgPrefix)+len(msgSuffix) {
		return Frame{}, false
	}
	rest := p[len(msgPrefix) : len(p)-len(msgSuffix)]
	i := bytes.IndexByte(rest, '"')
	if i <= 0 || !plainASCII(rest[:i]) || !bytes.HasPrefix(rest[i:], []byte(msgData)) {
		return Frame{}, false
	}
	id := rest[:i]
	lit := rest[i+len(msgData):] // must be exactly one JSON string
	escaped, ok := scanStringLiteral(lit)
	if !ok {
		return Frame{}, false
	}
	var data string
	if !escaped && utf8.Valid(lit) {
		data = string(lit[1 : len(lit)-1])
	} else if data, ok = unquote(lit); !ok {
		return Frame{}, false
	}
	return Frame{Type: FrameMessage, ID: string(id), Data: data}, true
}

// unquote decodes the JSON string literal lit (already checked by
// scanStringLiteral) as encoding/json does: the escapes \" \\ \/ \b \f \n
// \r \t and \uXXXX (surrogate pairs joined, a lone surrogate becoming
// U+FFFD), and invalid UTF-8 bytes becoming U+FFFD. It reports false for
// anything encoding/json rejects. The data of every MESSAGE is an escaped
// JSON text, so this runs once per frame; encoding/json would scan the
// literal twice and go through reflection. Runs of bytes that stand for
// themselves are copied whole.
func unquote[T string | []byte](lit T) (string, bool) {
	s := lit[1 : len(lit)-1]
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && plainByte[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if i = j; i >= len(s) {
			break
		}
		switch c := s[i]; {
		case c == '\\':
			if i+1 >= len(s) {
				return "", false
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(s[i+2:])
				if !ok {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if len(s) >= i+6 && s[i] == '\\' && s[i+1] == 'u' {
						if r2, ok := hex4(s[i+2:]); ok {
							if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
								b = utf8.AppendRune(b, d)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				return "", false
			}
			i += 2
		case c < utf8.RuneSelf: // a control character or a quote
			return "", false
		default:
			n := min(len(s)-i, utf8.UTFMax)
			r, size := utf8.DecodeRuneInString(string(s[i : i+n]))
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), true // b is never written again
}

// plainByte tells the bytes that stand for themselves in a JSON string:
// printable ASCII other than '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// hex4 decodes the four hex digits at the start of b.
func hex4[T string | []byte](b T) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for k := range 4 {
		c := b[k]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// plainASCII reports whether b holds only printable ASCII other than '"'
// and '\\' (so its JSON string form is itself).
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// scanStringLiteral reports whether b is a single JSON string literal
// (quotes at both ends, no raw control characters, no unescaped quote
// inside) and whether it contains escapes. Escape sequences themselves are
// validated by the caller's json.Unmarshal.
func scanStringLiteral(b []byte) (escaped, ok bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return false, false
	}
	for i := 1; i < len(b)-1; i++ {
		switch c := b[i]; {
		case c == '\\':
			escaped = true
			i++ // the escaped byte (a quote or backslash included)
			if i >= len(b)-1 {
				return false, false
			}
		case c == '"' || c < 0x20:
			return false, false
		}
	}
	return escaped, true
}

func decodeFrameSlow(p []byte) (Frame, error) {
	var rf rawFrame
	if err := json.Unmarshal(p, &rf); err != nil {
		return Frame{}, fmt.Errorf("%w: frame: %v", ErrMalformed, err)
	}
	if rf.ID == "" {
		return Frame{}, fmt.Errorf("%w: frame without id", ErrMalformed)
	}
	switch rf.Type {
	case FrameMessage:
		if rf.Data == nil {
			return Frame{}, fmt.Errorf("%w: MESSAGE without string data", ErrMalformed)
		}
		return Frame{Type: FrameMessage, ID: rf.ID, Data: *rf.Data}, nil
	case FrameAck:
		return Frame{Type: FrameAck, ID: rf.ID}, nil
	default:
		return Frame{}, fmt.Errorf("%w: unknown frame type %q", ErrMalformed, rf.Type)
	}
}

// appendJSONString appends s as a JSON string exactly as JSON.stringify
// writes it: only '"', '\\' and control characters are escaped (no HTML
// escaping, U+2028/U+2029 kept raw). Invalid UTF-8 bytes, which a JS string
// cannot hold, become \ufffd.
func appendJSONString(b []byte, s string) []byte {
	return appendQuoted(b, s, false)
}

// appendQuoted appends s as a JSON string: '"', '\\' and control characters
// escaped (\b, \f, \n, \r, \t short), invalid UTF-8 bytes as \ufffd, and,
// with lineSeps, U+2028 and U+2029 as \u2028 and \u2029 (encoding/json's
// form; JSON.stringify keeps them raw).
func appendQuoted(b []byte, s string, lineSeps bool) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainByte[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if lineSeps && (r == '\u2028' || r == '\u2029') {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
