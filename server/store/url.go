package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// ErrUnsupportedURL is returned by OpenURL for a database URL it cannot
// use: an unknown scheme, or an SQLite URL with query parameters.
var ErrUnsupportedURL = errors.New("store: unsupported database URL (want postgres://…, postgresql://…, sqlite:PATH or file:PATH)")

// OpenURL opens the store a database URL names:
//
//   - "" (the default): the SQLite file FileName in dataDir, as Open;
//   - "sqlite:PATH", "sqlite://PATH" or "file:PATH": the SQLite file at PATH
//     (relative to the working directory; "sqlite:" alone means the default
//     file in dataDir);
//   - "postgres://…" or "postgresql://…": a PostgreSQL database, as
//     OpenPostgres.
//
// Other schemes fail with an error wrapping ErrUnsupportedURL. Errors never
// contain a password of the URL.
func OpenURL(ctx context.Context, dataDir, databaseURL string) (Store, error) {
	if databaseURL == "" {
		return Open(ctx, dataDir)
	}
	scheme, rest, ok := strings.Cut(databaseURL, ":")
	if !ok {
		scheme = ""
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "file":
		p := strings.TrimPrefix(rest, "//")
		if strings.ContainsAny(p, "?#") {
			return nil, fmt.Errorf("%w: %s: SQLite URLs take no query (the store sets its own pragmas)", ErrUnsupportedURL, RedactURL(databaseURL))
		}
		if p == "" {
			return Open(ctx, dataDir)
		}
		s, err := OpenFile(ctx, p)
		if err != nil {
			return nil, err
		}
		return s, nil
	case "postgres", "postgresql":
		s, err := OpenPostgres(ctx, databaseURL)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedURL, RedactURL(databaseURL))
}

// RedactURL returns a database URL fit for logs and errors: the password
// (in the user info or a password/sslpassword parameter) is replaced by
// "xxxxx"; a URL that cannot be parsed is not shown at all.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.Scheme == "" && strings.Contains(raw, "=") {
		// A keyword/value connection string ("host=… password=…").
		return dsnPassword.ReplaceAllString(raw, "${1}xxxxx")
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k := range q {
			if isPasswordParam(k) {
				q.Set(k, "xxxxx")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

// dsnPassword matches the password settings of a keyword/value connection
// string, quoted or not.
var dsnPassword = regexp.MustCompile(`(?i)(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

func isPasswordParam(k string) bool {
	k = strings.ToLower(k)
	return k == "password" || k == "sslpassword"
}

// urlSecrets returns the passwords a database URL holds, to scrub them from
// error messages of drivers that might quote them.
func urlSecrets(raw string) []string {
	var out []string
	for _, m := range dsnPassword.FindAllStringSubmatch(raw, -1) {
		if v := strings.Trim(m[2], "'"); v != "" {
			out = append(out, v)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	if p, ok := u.User.Password(); ok && p != "" {
		out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
	}
	for k, vs := range u.Query() {
		if isPasswordParam(k) {
			for _, v := range vs {
				if v != "" {
					out = append(out, v, url.QueryEscape(v))
				}
			}
		}
	}
	return out
}

// redactErr wraps err so that its message shows none of secrets; errors.Is
// and errors.As still see err.
func redactErr(err error, secrets []string) error {
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if s != "" {
			clean = strings.ReplaceAll(clean, s, "xxxxx")
		}
	}
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
