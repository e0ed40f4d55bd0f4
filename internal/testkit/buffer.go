package testkit

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe to read while another goroutine writes to
// it: a command's output, or a server's log (slog.NewTextHandler(buf, …)).
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
