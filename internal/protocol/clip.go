package protocol

import (
	"strconv"
	"unicode/utf8"
)

// Clip bounds a string that came from a peer (a method name, an id) for a
// log line or an error message: at most n bytes of it, cut at a rune
// boundary, followed by "…" and its full length. A method name is as long
// as the peer makes it, up to a whole message.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
