package policy

import (
	"bytes"
	"encoding/json"
	"slices"
)

// The offline lease's two settings (docs/visit-policy.md, docs/security.md
// "The offline lease"). They live in the rules document because it is the
// one file an admin configures the service with, but only the server reads
// them: it puts them in the lease it signs. ForTablets leaves them out of
// the document tablets receive, so a tablet app older than these keys,
// which refuses a document with keys it does not know, keeps taking the
// rules.
const (
	// DefaultOfflineLeaseDays is OfflineLeaseDays when the document does
	// not set it.
	DefaultOfflineLeaseDays = 7
	// DefaultOfflineGraceDays is OfflineGraceDays when the document does
	// not set it.
	DefaultOfflineGraceDays = 7
	// MaxLeaseDays bounds either setting.
	MaxLeaseDays = 365
)

// serverOnlyKeys are the document's keys only the server reads.
var serverOnlyKeys = []string{"offline_lease_days", "offline_grace_days"}

// LeaseDays is how many days a tablet may work offline after its last
// answer from the server (offline_lease_days).
func (p *Policy) LeaseDays() int {
	if p.OfflineLeaseDays == nil {
		return DefaultOfflineLeaseDays
	}
	return *p.OfflineLeaseDays
}

// GraceDays is how many days after its lease ran out a tablet destroys its
// keys (offline_grace_days).
func (p *Policy) GraceDays() int {
	if p.OfflineGraceDays == nil {
		return DefaultOfflineGraceDays
	}
	return *p.OfflineGraceDays
}

// ForTablets returns doc without the keys only the server reads
// (offline_lease_days, offline_grace_days), the other keys in their order
// and their values byte for byte; a document without them, or that is not
// a JSON object, is returned as it is.
func ForTablets(doc []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return doc
	}
	var out bytes.Buffer
	out.WriteByte('{')
	dropped, n := false, 0
	for dec.More() {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return doc
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return doc
		}
		if slices.Contains(serverOnlyKeys, key) {
			dropped = true
			continue
		}
		if n > 0 {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(v)
		n++
	}
	if !dropped {
		return doc
	}
	out.WriteByte('}')
	return out.Bytes()
}
