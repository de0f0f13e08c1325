package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// ErrMail is wrapped by errors delivering notification emails.
var ErrMail = errors.New("server: mail")

// mailer delivers notifications by email over SMTP (Options.SMTPURL).
type mailer struct {
	host    string // for TLS and HELO
	addr    string // host:port
	implTLS bool   // smtps: TLS from the first byte
	auth    smtp.Auth
	from    mail.Address
	secret  string // the password, kept out of errors
	timeout time.Duration
}

// newMailer parses an SMTP URL: smtp://[user:password@]host[:port] (STARTTLS
// when the server offers it, required with a password; port 587 by
// default) or smtps://… (TLS from the start; port 465). from is the sender
// address ("Interval <interval@example.com>").
func newMailer(raw, from string) (*mailer, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: SMTP URL: %v", ErrMail, redactSecret(err.Error(), raw))
	}
	m := &mailer{timeout: 30 * time.Second}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		m.implTLS = true
	default:
		return nil, fmt.Errorf("%w: SMTP URL must start with smtp:// or smtps://", ErrMail)
	}
	m.host = u.Hostname()
	if m.host == "" {
		return nil, fmt.Errorf("%w: SMTP URL has no host", ErrMail)
	}
	port := u.Port()
	if port == "" {
		port = "587"
		if m.implTLS {
			port = "465"
		}
	}
	m.addr = net.JoinHostPort(m.host, port)
	if u.User != nil {
		pw, _ := u.User.Password()
		m.secret = pw
		// PlainAuth refuses to send the password without TLS, except to
		// localhost.
		m.auth = smtp.PlainAuth("", u.User.Username(), pw, m.host)
	}
	if from == "" {
		return nil, fmt.Errorf("%w: a sender address (SMTPFrom) is required", ErrMail)
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("%w: sender address %q: %w", ErrMail, from, err)
	}
	m.from = *a
	return m, nil
}

// redactSecret removes the password of raw (a URL) from s.
func redactSecret(s, raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			s = strings.ReplaceAll(s, pw, "xxxxx")
		}
	}
	return s
}

// send delivers one plain-text message to every address of to, bounded by
// ctx and the mailer's timeout.
func (m *mailer) send(ctx context.Context, to []string, subject, body string) error {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	err := m.deliver(ctx, to, subject, body)
	if err != nil && m.secret != "" {
		err = errors.New(strings.ReplaceAll(err.Error(), m.secret, "xxxxx"))
	}
	if err != nil {
		return fmt.Errorf("%w: sending to %s via %s: %w", ErrMail, strings.Join(to, ", "), m.addr, err)
	}
	return nil
}

func (m *mailer) deliver(ctx context.Context, to []string, subject, body string) error {
	msg, err := m.message(to, subject, body)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if m.implTLS {
		conn = tls.Client(conn, &tls.Config{ServerName: m.host})
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if !m.implTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(&tls.Config{ServerName: m.host}); err != nil {
				return err
			}
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return err
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return err
	}
	for _, a := range to {
		if err := c.Rcpt(a); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message builds the RFC 5322 message: UTF-8 text, quoted-printable, the
// subject encoded per RFC 2047. Header values come from the host, so line
// breaks in them are refused (no header injection).
func (m *mailer) message(to []string, subject, body string) ([]byte, error) {
	for _, a := range to {
		if _, err := mail.ParseAddress(a); err != nil || strings.ContainsAny(a, "\r\n") {
			return nil, fmt.Errorf("invalid recipient %q", a)
		}
	}
	subject = strings.Join(strings.Fields(subject), " ") // no line breaks in a header
	var id [12]byte
	rand.Read(id[:])
	domain := m.from.Address[strings.LastIndexByte(m.from.Address, '@')+1:]
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", m.from.String())
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id[:]), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	body = strings.TrimRight(strings.ReplaceAll(body, "\r\n", "\n"), "\n") + "\n"
	qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	qp.Close()
	return b.Bytes(), nil
}
