//go:build !unix

package isocket

import "net"

// rawReader is not available here: the library keeps the HTTP server's
// buffers.
type rawReader struct{}

func (rawReader) read() (*[]byte, int, error) { panic("isocket: rawReader on this platform") }

// newLeanConn returns nil: without a way to wait for readability with no
// buffer, a leanConn would save nothing.
func newLeanConn(net.Conn) *leanConn { return nil }
