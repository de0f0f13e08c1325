package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/interval-go/sdk/server/store"
)

// smtpSink is a real SMTP server (github.com/emersion/go-smtp) on loopback
// that keeps what it receives.
type smtpSink struct {
	addr     string
	user, pw string
	mu       sync.Mutex
	got      []sunkMail
}

type sunkMail struct {
	from string
	to   []string
	data []byte
	user string // who authenticated ("" for nobody)
}

func startSMTP(t *testing.T, user, pw string) *smtpSink {
	t.Helper()
	k := &smtpSink{user: user, pw: pw}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{k: k}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return k
}

func (k *smtpSink) mails() []sunkMail {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]sunkMail(nil), k.got...)
}

type sinkSession struct {
	k    *smtpSink
	m    sunkMail
	user string
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pw string) error {
		if user != s.k.user || pw != s.k.pw {
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.k.user != "" && s.user == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	s.m = sunkMail{from: from, user: s.user}
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.to = append(s.m.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.data = b
	s.k.mu.Lock()
	s.k.got = append(s.k.got, s.m)
	s.k.mu.Unlock()
	return nil
}

func (s *sinkSession) Reset()        { s.m = sunkMail{} }
func (s *sinkSession) Logout() error { return nil }

func TestMailDelivers(t *testing.T) {
	k := startSMTP(t, "interval", "s3cret-pw")
	m, err := newMailer("smtp://interval:s3cret-pw@"+k.addr, "Interval <interval@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	body := "Refund of 42 € for bob@example.com is waiting.\n" + strings.Repeat("long line ", 20) + "\nhttp://127.0.0.1:8080/transactions/abc"
	if err := m.send(context.Background(), []string{"ops@example.com", "bob@example.com"}, "Réfund\r\nBcc: evil@example.com", body); err != nil {
		t.Fatal(err)
	}
	got := k.mails()
	if len(got) != 1 {
		t.Fatalf("%d mails received", len(got))
	}
	g := got[0]
	if g.user != "interval" || g.from != "interval@example.com" || strings.Join(g.to, ",") != "ops@example.com,bob@example.com" {
		t.Fatalf("envelope: user %q from %q to %v", g.user, g.from, g.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(g.data)))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Bcc") != "" {
		t.Fatal("a line break in the subject injected a header")
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "Réfund Bcc: evil@example.com" {
		t.Fatalf("subject %q, %v", subject, err)
	}
	if msg.Header.Get("From") != `"Interval" <interval@example.com>` || msg.Header.Get("Message-Id") == "" {
		t.Fatalf("headers %v", msg.Header)
	}
	text, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(body, "\n", "\r\n") + "\r\n"; string(text) != want {
		t.Fatalf("body %q, want %q", text, want)
	}
}

func TestMailErrors(t *testing.T) {
	k := startSMTP(t, "interval", "right-pw")
	m, err := newMailer("smtp://interval:wrong-pw@"+k.addr, "interval@example.com")
	if err != nil {
		t.Fatal(err)
	}
	err = m.send(context.Background(), []string{"ops@example.com"}, "x", "y")
	if !errors.Is(err, ErrMail) || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("wrong password: %v (must wrap ErrMail, without the password)", err)
	}
	if err := m.send(context.Background(), []string{"ops@example.com\r\nRCPT TO:<x@y>"}, "x", "y"); !errors.Is(err, ErrMail) {
		t.Fatalf("recipient with a line break: %v", err)
	}
	if len(k.mails()) != 0 {
		t.Fatal("a refused message was delivered")
	}
	// Nobody listening: a clear error, bounded by the context.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	down, _ := newMailer("smtp://"+addr, "interval@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := down.send(ctx, []string{"ops@example.com"}, "x", "y"); !errors.Is(err, ErrMail) {
		t.Fatalf("unreachable server: %v", err)
	}
	for _, bad := range []struct{ url, from string }{
		{"http://mail.example.com", "a@example.com"},
		{"smtp://", "a@example.com"},
		{"smtp://mail.example.com", ""},
		{"smtp://mail.example.com", "not an address"},
	} {
		if _, err := newMailer(bad.url, bad.from); !errors.Is(err, ErrMail) {
			t.Errorf("newMailer(%q, %q) = %v, want ErrMail", bad.url, bad.from, err)
		}
	}
}

// TestNotificationsByEmail: with SMTPURL set, EMAIL deliveries are mailed
// to their addresses (users or not) and stored without the "not delivered"
// note; a notification without instructions is mailed to its console
// recipients; Slack deliveries still carry their note.
func TestNotificationsByEmail(t *testing.T) {
	k := startSMTP(t, "", "")
	e := newEnv(t, Options{SMTPURL: "smtp://" + k.addr, SMTPFrom: "Interval <interval@example.com>"})
	admin := e.admin()
	member := e.newUser(admin, "member@example.com", "member")
	live := admin.key("production")

	notifyOK(t, e, live, map[string]any{"message": "Refund done\nfor bob", "deliveryInstructions": []any{
		map[string]any{"to": "member@example.com", "method": "EMAIL"},
		map[string]any{"to": "outside@example.org"},
		map[string]any{"to": "#ops", "method": "SLACK"},
	}})
	notifyOK(t, e, live, map[string]any{"message": "to admins", "title": "Deploy"})

	var got []sunkMail
	deadline := time.Now().Add(wait)
	for len(got) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		got = k.mails()
	}
	if len(got) != 2 {
		t.Fatalf("%d mails sent, want 2", len(got))
	}
	byTo := map[string]sunkMail{}
	for _, m := range got {
		byTo[strings.Join(m.to, ",")] = m
	}
	first, ok := byTo["member@example.com,outside@example.org"]
	if !ok {
		t.Fatalf("recipients %v", byTo)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(first.data)))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if msg.Header.Get("Subject") != "Refund done" || !strings.Contains(string(text), "Refund done\r\nfor bob") ||
		!strings.Contains(string(text), "Sent by the Interval server at "+e.hs.URL) {
		t.Fatalf("subject %q, body %q", msg.Header.Get("Subject"), text)
	}
	if _, ok := byTo[admin.email]; !ok {
		t.Fatalf("the admins' notification was not mailed to %s: %v", admin.email, byTo)
	}
	ds := member.inbox().Notifications[0].Deliveries
	if len(ds) != 3 || ds[0].Note != "" || ds[1].Note != "" || ds[2].Note != noteNoSlack {
		t.Fatalf("deliveries %+v", ds)
	}
}

// A mail server that cannot be reached: the notification stays in the
// console, its EMAIL deliveries say why they were not delivered.
func TestNotificationMailFailureNoted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	e := newEnv(t, Options{SMTPURL: "smtp://" + addr, SMTPFrom: "interval@example.com"})
	admin := e.admin()
	member := e.newUser(admin, "member@example.com", "member")
	notifyOK(t, e, admin.key("production"), map[string]any{"message": "disk full", "deliveryInstructions": []any{
		map[string]any{"to": "member@example.com", "method": "EMAIL"},
		map[string]any{"to": "#ops", "method": "SLACK"},
	}})
	var ds []store.NotificationDelivery
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if in := member.inbox(); len(in.Notifications) == 1 {
			if ds = in.Notifications[0].Deliveries; len(ds) == 2 && ds[0].Note != "" {
				break
			}
		}
	}
	if len(ds) != 2 || !strings.HasPrefix(ds[0].Note, "not delivered: ") || !strings.Contains(ds[0].Note, "mail") || ds[1].Note != noteNoSlack {
		t.Fatalf("deliveries %+v", ds)
	}
}
