//go:build unix

package isocket

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// rawReader reads a socket through its syscall.RawConn: it waits for
// readability on the network poller with no buffer, and takes a pooled
// chunk only for the read itself.
type rawReader struct{ rc syscall.RawConn }

// newLeanConn wraps nc, or returns nil when nc is not a plain socket.
func newLeanConn(nc net.Conn) *leanConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &leanConn{Conn: nc, rd: rawReader{rc}}
}

// read waits for data and returns it in a pooled chunk, n > 0 bytes; at
// the end of the stream it returns io.EOF.
func (r rawReader) read() (*[]byte, int, error) {
	var (
		b    *[]byte
		n    int
		rerr error
	)
	err := r.rc.Read(func(fd uintptr) bool {
		b = getChunk()
		for {
			n, rerr = syscall.Read(int(fd), *b)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			// Nothing yet: give the chunk back while waiting.
			putChunk(b)
			b = nil
			return false
		}
		return true
	})
	if err == nil && rerr != nil {
		err = &net.OpError{Op: "read", Err: os.NewSyscallError("read", rerr)}
	}
	if err == nil && n <= 0 {
		err = io.EOF
	}
	if err != nil {
		if b != nil {
			putChunk(b)
		}
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		return nil, 0, fmt.Errorf("isocket: %w", err)
	}
	return b, n, nil
}
