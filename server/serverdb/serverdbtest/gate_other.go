//go:build !unix

package serverdbtest

import "os"

// lockFile has no file locks to take here: the PostgreSQL suites are not
// gated (suiteSlot waits for nothing).
func lockFile(string, bool) (*os.File, error) { return nil, nil }
