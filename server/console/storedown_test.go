package console_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/interval-go/sdk/server"
	"github.com/interval-go/sdk/server/store"
)

// sessionFailingStore is a store whose session lookups fail on demand,
// as they do while its database is out of reach.
type sessionFailingStore struct {
	store.Store
	fail atomic.Bool
}

func (f *sessionFailingStore) SessionUser(ctx context.Context, hash string, now time.Time) (store.User, error) {
	if f.fail.Load() {
		return store.User{}, errors.New("store: session user: database unavailable")
	}
	return f.Store.SessionUser(ctx, hash, now)
}

// TestBrowserDatabaseDownIsNoLogout: the console loaded while the server's
// database does not answer showed the login page, as if the operator had
// been logged out (who would then log in again for nothing). It now says
// the server did not answer and tries again; once the database answers,
// the console opens with the same session.
func TestBrowserDatabaseDownIsNoLogout(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fs := &sessionFailingStore{Store: st}
	e := newEnvWith(t, nil, nil, false, func(o *server.Options) { o.Store = fs })
	e.login()

	fs.fail.Store(true)
	e.navigate("/")
	e.waitText("[data-testid=boot-error]", "did not answer")
	e.shot("console-database-down")
	login, err := chromedp.Run(e.ctx, chromedp.Evaluate[bool](`!!document.querySelector('input[type=password], input[type=email]')`))
	if err != nil {
		t.Fatal(err)
	}
	if login {
		t.Fatal("the console showed the login page while the database did not answer")
	}

	fs.fail.Store(false)
	e.waitText(".brand-name", "Acme Corp")
}
