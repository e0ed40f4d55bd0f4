package schema

import (
	"encoding/json"
	"time"
)

// ProtocolVersion is the sync protocol this build speaks. Every request
// carries it in the Doorstep-Protocol header.
//
// History (bump on any change a peer must know about; never reuse a number):
//   - 1 (2026-11-23): first version: login/refresh, push of field mutations
//     with one HLC each, paged pull with an opaque cursor and case removals.
//
// Optional members added since, without a bump because a peer that does not
// know them loses nothing (an old server ignores an unknown request member,
// an old tablet an unknown answer member, and neither needs the other's):
//   - 2026-11-23: PullRequest.people_tag and PullResponse.people and
//     people_tag: the names of the people a tablet may meet (§7.1).
//   - 2026-11-23: PullRequest.rules_tag and PullResponse.rules and
//     rules_tag: the server's visit rules document, so a tablet computes
//     the same due dates as the server (§7.2).
//   - 2026-12-04: LoginRequest.device_public_key and
//     Mutation.device_signature: visits signed by the device (§6.1).
//   - 2026-12-04: TokenResponse.server_public_key, and the answer headers
//     Doorstep-Lease (the offline lease, §5.1) and
//     Doorstep-Device-Standing (revocation told on every answer, §5.2).
//   - 2026-12-04: TokenResponse.outbox_key and Mutation.sealed: a change
//     the tablet can no longer read (its keys destroyed) delivered sealed
//     to the server's key (§6.2).
//   - 2026-12-05: PullRequest.wait: a pull at the end of the device's
//     changes may ask the server to hold its answer until a change in its
//     scope is numbered, up to MaxPullWait seconds (§7.3); an older server
//     answers at once.
//
// Rules tightened since, without a bump because no message changed:
//   - 2026-12-04: the server applies a stamp more than MaxClockAhead ahead
//     of its clock with a stamp of its own, and a device stamps with its
//     clock corrected by the measured skew (§3).
//   - 2026-12-05: pull cursors carry the database's epoch
//     ("c:<epoch>:<n>"), made anew by doorstep admin restore; a cursor of
//     another epoch is refused as 400 invalid on cursor, which every
//     device since version 1 answers with a pull from "" (§7, Epochs).
//     Plain "c:<n>" cursors stay good until the first restore.
const ProtocolVersion = 1

// MinPushProtocol is the oldest protocol whose pushes the server still
// applies: a tablet that missed upgrades must still deliver its pending work.
// MinPullProtocol is the oldest it serves pulls to; an older tablet is told
// to update (update_required) after its push went through.
const (
	MinPushProtocol = 1
	MinPullProtocol = 1
)

// SchemaVersion is the record schema (the entity fields) this build knows.
// Fields are only added between versions, never removed or renamed.
//
// History:
//   - 1 (2026-11-23): case, flag, household_member, visit, amendment,
//     safety_assessment, enquiry, referral, oversight, conflict.
const SchemaVersion = 1

// HTTP headers every sync client sends.
const (
	HeaderProtocol   = "Doorstep-Protocol"
	HeaderSchema     = "Doorstep-Schema"
	HeaderAppVersion = "Doorstep-App-Version"
	HeaderDeviceID   = "Doorstep-Device"
	HeaderRequestID  = "X-Request-Id"
	// HeaderClockSkew carries the device's last measured clock skew in
	// milliseconds (server minus device), for the server's device list.
	HeaderClockSkew = "Doorstep-Clock-Skew"
	// HeaderOutboxPending carries how many changes wait in the device's
	// outbox when it sends a push or pull, for the supervisors' freshness
	// view. Optional: an older app does not send it.
	HeaderOutboxPending = "Doorstep-Outbox-Pending"
)

// Body size limits, enforced by the server (413 beyond them).
const (
	MaxPushBody      = 16 << 20 // decompressed bytes of one push
	MaxBody          = 1 << 20  // any other request
	MaxPushMutations = 5000
	DefaultPullLimit = 2000
	MaxPullLimit     = 10000
	// MaxPullWait is the longest a pull waits for a change
	// (PullRequest.Wait), in seconds: under the server's and the usual
	// proxies' idle timeouts.
	MaxPullWait = 25
)

// LoginRequest signs a user in on one device. The device id is made by the
// tablet on first start and registers the device to the user.
type LoginRequest struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	DeviceID   string `json:"device_id"`
	DeviceName string `json:"device_name,omitempty"`
	AppVersion string `json:"app_version,omitempty"`
	// DevicePublicKey is the tablet's Ed25519 public key, base64, made on
	// the tablet (§6.1). Optional: an old tablet sends none. The server
	// registers it at the device's first sign-in that carries one and
	// refuses a different key for the same device afterwards.
	DevicePublicKey string `json:"device_public_key,omitempty"`
}

// RefreshRequest swaps a refresh token for a new pair. The old token is
// spent: presenting it again revokes every token of the device.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
	DeviceID     string `json:"device_id"`
}

// TokenResponse answers login and refresh.
type TokenResponse struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"` // "Bearer"
	ExpiresIn    int       `json:"expires_in"` // seconds
	RefreshToken string    `json:"refresh_token"`
	User         User      `json:"user"`
	ServerTime   time.Time `json:"server_time"`
	// ServerPublicKey is the server's Ed25519 public key, base64, which
	// signs the offline lease (§5.1); the tablet pins it at its first
	// sign-in. Absent from a server that issues no lease.
	ServerPublicKey string `json:"server_public_key,omitempty"`
	// OutboxKey is the server's X25519 public key, base64, that a device
	// seals each outbox entry to as well (§6.2); absent from a server
	// without one.
	OutboxKey string `json:"outbox_key,omitempty"`
}

// Mutation is one local change made on a tablet: some fields of one record,
// all stamped with one HLC. Its id makes a retried push harmless.
type Mutation struct {
	ID       string                     `json:"id"`
	Entity   string                     `json:"entity"`
	RecordID string                     `json:"record_id"`
	CaseID   string                     `json:"case_id"`
	Fields   map[string]json.RawMessage `json:"fields"`
	Clock    HLC                        `json:"clock"`
	// DeviceTime is the tablet's wall clock when the change was made.
	DeviceTime time.Time `json:"device_time"`
	// DeviceSignature is the tablet's signature of the visit or amendment
	// this mutation signs (§6.1). Optional: a mutation without one is
	// accepted and its record marked unsigned by device.
	DeviceSignature *DeviceSignature `json:"device_signature,omitempty"`
	// Sealed, when set, is the whole mutation (every member but this one,
	// as JSON) sealed to the server's outbox key (§6.2), base64: the server
	// opens it and applies what it holds, whatever the other members say.
	Sealed string `json:"sealed,omitempty"`
}

// PushRequest carries a batch of mutations, oldest first.
type PushRequest struct {
	Mutations []Mutation `json:"mutations"`
	// Cursor is the device's pull cursor when it sent the push (optional).
	// It lets the server leave out of the next pull the records whose state
	// the device already has because its own push made it (§7, echoes).
	Cursor string `json:"cursor,omitempty"`
}

// Mutation outcomes.
const (
	StatusApplied   = "applied"   // every field applied
	StatusDuplicate = "duplicate" // seen before: the stored outcome is repeated
	StatusConflict  = "conflict"  // some or all fields lost; conflict records keep them
	StatusRejected  = "rejected"  // nothing applied; Error says why; do not resend as is
)

// MutationResult is the server's answer for one mutation.
type MutationResult struct {
	MutationID string `json:"mutation_id"`
	Status     string `json:"status"`
	// Original is the first outcome (applied, conflict or rejected) when
	// Status is duplicate.
	Original string `json:"original,omitempty"`
	Error    *Error `json:"error,omitempty"`
	// Lost names the fields that lost (conflict).
	Lost []string `json:"lost,omitempty"`
	// Receipt is the record's state on the server after the mutation.
	Receipt *Receipt `json:"receipt,omitempty"`
	// Current holds the server's values of the mutation's fields, sent with
	// duplicate and conflict outcomes. The device may have kept its own
	// values while the mutation was pending (and pulled past the record
	// meanwhile); it takes these for every field no other pending mutation
	// sets, so it never keeps a value the server did not.
	Current map[string]json.RawMessage `json:"current,omitempty"`
}

// Receipt says a record is safely on the server, and as which version.
type Receipt struct {
	Entity     string    `json:"entity"`
	ID         string    `json:"id"`
	Version    int64     `json:"version"`
	ReceivedAt time.Time `json:"received_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// PushResponse answers a push: one result per mutation, in request order.
type PushResponse struct {
	Results    []MutationResult `json:"results"`
	ServerTime time.Time        `json:"server_time"`
}

// PullRequest asks for changes after Cursor ("" for everything).
type PullRequest struct {
	Cursor string `json:"cursor"`
	Limit  int    `json:"limit,omitempty"`
	// PeopleTag asks for the people list (PullResponse.People): it is the
	// tag of the list the device holds, "" when it holds none. A device
	// that leaves the member out (nil) gets no list: it would not know one.
	PeopleTag *string `json:"people_tag,omitempty"`
	// RulesTag asks for the server's visit rules (PullResponse.Rules): the
	// tag of the rules document the device holds from the server, "" when
	// it holds none. Left out (nil), no rules are sent.
	RulesTag *string `json:"rules_tag,omitempty"`
	// Wait, in seconds, asks the server to hold an answer that would be
	// empty until a change in the device's scope is numbered, or Wait
	// seconds pass (at most MaxPullWait; more is taken as that): a
	// "changes waiting" wake-up instead of polling (§7.3). 0 answers at
	// once.
	Wait int `json:"wait,omitempty"`
}

// Person is another user as a tablet may show them: who decided, amended
// or holds a case. Nothing else about a user leaves the server this way.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// Removal tells a tablet to delete local data: a whole case (left the
// user's scope) or one record (deleted).
type Removal struct {
	CaseID string `json:"case_id"`
	Entity string `json:"entity,omitempty"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"` // out_of_scope, deleted
}

// PullResponse is one page of changes. The tablet applies Records and
// Removed and stores Cursor in one transaction; HasMore says pull again.
type PullResponse struct {
	Records    []Record  `json:"records"`
	Removed    []Removal `json:"removed"`
	Cursor     string    `json:"cursor"`
	HasMore    bool      `json:"has_more"`
	ServerTime time.Time `json:"server_time"`
	// People is the whole list of the people the device's user may meet
	// (the users of their team, supervisors included), sent with
	// PeopleTag on the last page of a pull (HasMore false) when the
	// request asked for it and its tag differs. The device replaces its
	// list with it. Absent otherwise: the device keeps what it has.
	People    []Person `json:"people,omitempty"`
	PeopleTag string   `json:"people_tag,omitempty"`
	// Rules is the visit rules document the server computes with, exactly
	// as it loaded it (compacted; docs/visit-policy.md), sent with RulesTag
	// (policy.Tag of it) on the last page of a pull when the request asked
	// for it and its tag differs. The device checks it with policy.Parse
	// and uses it from then on. Absent otherwise: the device keeps what it
	// has.
	Rules    json.RawMessage `json:"rules,omitempty"`
	RulesTag string          `json:"rules_tag,omitempty"`
}

// ErrorResponse is the body of every non-2xx answer.
type ErrorResponse struct {
	Error     Error  `json:"error"`
	RequestID string `json:"request_id,omitempty"`
	// Wipe is set with device_revoked: the tablet must erase its local data.
	Wipe bool `json:"wipe,omitempty"`
}
