// Package fsperm keeps Doorstep's folders and files to the user that runs
// it: the server's data and secrets folders and the tablet's data folder
// are made mode 0700, their files 0600, and a folder that others can read
// is refused with the chmod that fixes it (issue 11, defect 5). Modes mean
// little on Windows, where the checks are skipped.
package fsperm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// checked says whether this system's modes are worth checking.
var checked = runtime.GOOS != "windows"

// MakeDir creates dir (and missing parents) with mode 0700, or checks that
// an existing dir is a folder that no one else can read, write or enter.
// what names the folder for a person ("--data folder").
func MakeDir(dir, what string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("%s: create %s: %w", what, dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %s is not a folder", what, dir)
	}
	return CheckDir(dir, what)
}

// CheckDir refuses a folder whose mode gives anything to its group or to
// others, naming the mode and the command that fixes it.
func CheckDir(dir, what string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if m := fi.Mode().Perm(); checked && m&0o077 != 0 {
		return fmt.Errorf("%s %s has mode %04o: other users of this machine can read what it holds; run `chmod 700 %s` and start again", what, dir, m, dir)
	}
	return nil
}

// Tighten makes the files at paths that exist readable and writable by
// their owner only (0600), and returns the ones it changed.
func Tighten(paths ...string) ([]string, error) {
	var changed []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return changed, err
		}
		if !checked || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, 0o600); err != nil {
			return changed, fmt.Errorf("make %s readable by its owner only: %w", p, err)
		}
		changed = append(changed, p)
	}
	return changed, nil
}

// CreateFile creates an empty file at path with mode 0600 unless one
// exists: SQLite then keeps that mode, and gives it to the -wal and -shm
// files it makes beside it.
func CreateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return f.Close()
}
