//go:build unix

package serverdbtest

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile opens (making it) and locks the file at path, exclusively:
// waiting for the lock when wait, else answering nil, nil when another
// holds it. Closing the file releases the lock.
func lockFile(path string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o666) // read only: another user's file locks as well
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	switch {
	case err == nil:
		return f, nil
	case !wait && errors.Is(err, syscall.EWOULDBLOCK):
		f.Close()
		return nil, nil
	default:
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
}
