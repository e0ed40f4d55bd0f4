package localapi

import (
	"compress/gzip"
	"io"
)

func newGzipReader(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
