package main

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// wireCounter counts what crosses the network between a tablet agent and
// the server: requests, and bytes read and written on the TCP connections
// (headers and gzip bodies as sent, which is what a mobile data plan pays).
type wireCounter struct {
	requests, up, down atomic.Int64
}

type wireSnapshot struct{ Requests, Up, Down int64 }

func (w *wireCounter) snapshot() wireSnapshot {
	return wireSnapshot{w.requests.Load(), w.up.Load(), w.down.Load()}
}

func (s wireSnapshot) sub(o wireSnapshot) wireSnapshot {
	return wireSnapshot{s.Requests - o.Requests, s.Up - o.Up, s.Down - o.Down}
}

// client returns an HTTP client whose traffic w counts. Compression is left
// to the agent (it sends gzip and asks for it).
func (w *wireCounter) client() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: c, w: w}, nil
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: roundTripCounter{tr, w}}
}

type roundTripCounter struct {
	next http.RoundTripper
	w    *wireCounter
}

func (r roundTripCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	r.w.requests.Add(1)
	return r.next.RoundTrip(req)
}

type countingConn struct {
	net.Conn
	w *wireCounter
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.down.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.w.up.Add(int64(n))
	return n, err
}
