package main

import (
	"net/url"
	"strings"
)

// libpqParams are the connection parameters libpq (pg_dump, pg_restore,
// psql) takes in a URL's query. The store's URL may carry others that
// pgx takes and libpq refuses ("invalid URI query parameter"): pgxpool's
// pool_max_conns and its kin, pgx's statement_cache_capacity, and the
// server settings pgx sends at connection (search_path, plan_cache_mode,
// work_mem, jit, …).
var libpqParams = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true, "passfile": true,
	"require_auth": true, "channel_binding": true, "connect_timeout": true, "client_encoding": true, "options": true,
	"application_name": true, "fallback_application_name": true, "keepalives": true, "keepalives_idle": true,
	"keepalives_interval": true, "keepalives_count": true, "tcp_user_timeout": true, "replication": true,
	"gssencmode": true, "sslmode": true, "requiressl": true, "sslnegotiation": true, "sslcompression": true,
	"sslcert": true, "sslkey": true, "sslpassword": true, "sslcertmode": true, "sslrootcert": true, "sslcrl": true,
	"sslcrldir": true, "sslsni": true, "requirepeer": true, "ssl_min_protocol_version": true,
	"ssl_max_protocol_version": true, "min_protocol_version": true, "max_protocol_version": true, "krbsrvname": true,
	"gsslib": true, "gssdelegation": true, "service": true, "target_session_attrs": true, "load_balance_hosts": true,
}

// libpqURL is the store's PostgreSQL URL as pg_dump and pg_restore take
// it, its password redacted: only libpq's parameters kept. The store's
// schema (search_path, which libpq refuses in a URL) is returned apart,
// for pg_dump's --schema; "" when the URL names none. A URL that does not
// parse is only redacted.
func libpqURL(db string) (u string, schema string) {
	p, err := url.Parse(db)
	if err != nil {
		return redactedDB(db), ""
	}
	q := p.Query()
	if sp := q.Get("search_path"); sp != "" {
		schema, _, _ = strings.Cut(sp, ",")
		schema = strings.Trim(strings.TrimSpace(schema), `"`)
	}
	for name := range q {
		if !libpqParams[name] {
			q.Del(name)
		}
	}
	p.RawQuery = q.Encode()
	return p.Redacted(), schema
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// plain characters (a URL's & and ? would be the shell's).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// pgDumpCommand is the pg_dump command that backs up the store at db
// (doorstep admin backup --db's answer), the password redacted.
func pgDumpCommand(db string) string {
	u, schema := libpqURL(db)
	cmd := "pg_dump --format=custom --file=doorstep-$(date +%F).dump"
	if schema != "" {
		cmd += " --schema=" + shellQuote(schema)
	}
	return cmd + " " + shellQuote(u)
}

// pgRestoreTarget is pg_restore's --dbname for the store at db: libpq's
// parameters only (the dump names its schema itself), the password
// redacted, quoted for the shell.
func pgRestoreTarget(db string) string {
	u, _ := libpqURL(db)
	return shellQuote(u)
}
