// Package linger closes HTTP connections the way net/http does, so that an
// answer sent before the request was read (a body over the limit: a JSON
// 413, an officer app's error page) reaches the client rather than being
// thrown away by a reset. Both fiber servers, the central server and the
// tablet's local API, listen through it.
package linger

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
// (issue 11); the officer app's 413 page for a 2 MB note was lost the same way. So a connection closes the way net/http's does, lingering:
// the sending half first, so the client reads the answer and its end of
// the stream, then what is still arriving is read and dropped, within
// bounds, before the socket closes.
const (
	lingerTime  = 5 * time.Second
	lingerBytes = 64 << 20
)

// Listener hands out connections that close lingering.
type Listener struct{ net.Listener }

// Accept returns the next connection, closing lingering when it is TCP.
func (l Listener) Accept() (net.Conn, error) {
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
