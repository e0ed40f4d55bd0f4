// Package schema is Doorstep's domain: the records an officer and a supervisor
// work with, their validation, the hybrid logical clock that orders edits, the
// sync wire messages, and the SQL migrations of both stores as embedded text.
//
// It is the only contract between the tablet (package syncer and below) and
// the server (package server and below): both import schema and never each
// other. It does no I/O and imports nothing of ours.
package schema
