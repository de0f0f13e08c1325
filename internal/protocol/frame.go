package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
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
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c < 0x80 {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		// Multi-byte UTF-8: keep valid sequences, replace invalid bytes.
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0xFFFD && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
