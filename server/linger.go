package server

import (
	"io"
	"net"
	"time"
)

// A request refused before it was read (a body over fiber's BodyLimit)
// is answered, then its connection closed by fasthttp with the rest of
// the body still arriving. Closing a socket with unread data makes the
// kernel send a reset, and a reset throws away the answer the client has
// not read yet: the tablet saw no answer at all rather than the JSON 413
// (issue 11). So a connection closes the way net/http's does, lingering:
// the sending half first, so the client reads the answer and its end of
// the stream, then what is still arriving is read and dropped, within
// bounds, before the socket closes.
const (
	lingerTime  = 5 * time.Second
	lingerBytes = 64 << 20
)

// lingeringListener hands out connections that close lingering.
type lingeringListener struct{ net.Listener }

func (l lingeringListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return lingeringConn{tc}, nil
	}
	return c, nil
}

type lingeringConn struct{ *net.TCPConn }

// Close half-closes the connection and returns; the rest of the close
// happens in the background, so no server worker waits on a client.
func (c lingeringConn) Close() error {
	if err := c.TCPConn.CloseWrite(); err != nil {
		return c.TCPConn.Close()
	}
	go func() {
		_ = c.TCPConn.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.Copy(io.Discard, io.LimitReader(c.TCPConn, lingerBytes))
		_ = c.TCPConn.Close()
	}()
	return nil
}
