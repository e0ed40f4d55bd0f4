// Package logfile is a log file that rotates itself by size: when a write
// would take it past its limit, the file becomes name.1 (name.1 becomes
// name.2, and so on), the oldest beyond the number kept is deleted, and a
// new file starts. The tablet agent writes its log there when it runs at
// sign-in (doorstep device install), with no terminal to write to.
package logfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// Defaults of the tablet agent's log: 10 MB a file, five old files kept,
// so the log never takes more than 60 MB of the data folder.
const (
	DefaultMaxSize = 10 << 20
	DefaultKeep    = 5
)

// File is an io.Writer over a log file that rotates by size. It is safe
// for concurrent use.
type File struct {
	path    string
	maxSize int64
	keep    int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Open opens (appending) or creates the log at path, mode 0600. A file
// rotates when a write would take it over maxSize bytes; keep old files
// are kept (path.1 the newest). A single write larger than maxSize still
// goes whole into a fresh file.
func Open(path string, maxSize int64, keep int) (*File, error) {
	if maxSize <= 0 || keep < 0 {
		return nil, fmt.Errorf("logfile: max size %d and keep %d: want a size above zero and keep zero or more", maxSize, keep)
	}
	l := &File{path: path, maxSize: maxSize, keep: keep}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *File) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log file: %w", err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// Write appends p, rotating first when p would take the file over its
// limit.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, errors.New("logfile: closed")
	}
	if l.size > 0 && l.size+int64(len(p)) > l.maxSize {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// rotate shifts path.N-1 to path.N … path to path.1, dropping what falls
// beyond keep, and starts a new file.
func (l *File) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("rotate log file: %w", err)
	}
	l.f = nil
	old := func(i int) string { return fmt.Sprintf("%s.%d", l.path, i) }
	if l.keep == 0 {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate log file: %w", err)
		}
	} else {
		if err := os.Remove(old(l.keep)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate log file: %w", err)
		}
		for i := l.keep - 1; i >= 1; i-- {
			if err := os.Rename(old(i), old(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("rotate log file: %w", err)
			}
		}
		if err := os.Rename(l.path, old(1)); err != nil {
			return fmt.Errorf("rotate log file: %w", err)
		}
	}
	return l.open()
}

// Close closes the file; writes after it fail.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
