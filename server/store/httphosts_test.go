package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// checkHTTPHosts runs the serverless-host methods of a Store.
func checkHTTPHosts(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	a := HTTPHost{ID: "h1", URL: "https://a.example.com/interval", Env: EnvProduction, CreatedBy: "u1", CreatedAt: now}
	if err := s.CreateHTTPHost(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateHTTPHost(ctx, HTTPHost{ID: "h2", URL: a.URL, Env: EnvProduction, CreatedAt: now}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate URL: %v", err)
	}
	b := HTTPHost{ID: "h3", URL: "https://b.example.com/", Env: EnvProduction, CreatedAt: now.Add(time.Second)}
	if err := s.CreateHTTPHost(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.HTTPHost(ctx, "h1")
	if err != nil || got.URL != a.URL || got.Env != a.Env || got.CreatedBy != "u1" || !got.CreatedAt.Equal(now) {
		t.Fatalf("HTTPHost: %+v %v", got, err)
	}
	if _, err := s.HTTPHost(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown host: %v", err)
	}
	list, err := s.ListHTTPHosts(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "h1" || list[1].ID != "h3" {
		t.Fatalf("ListHTTPHosts: %+v %v", list, err)
	}
	if err := s.DeleteHTTPHost(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteHTTPHost(ctx, "h1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if list, err := s.ListHTTPHosts(ctx); err != nil || len(list) != 1 {
		t.Fatalf("after delete: %+v %v", list, err)
	}
}

func TestHTTPHosts(t *testing.T) {
	each(t, func(t *testing.T, open opener) { checkHTTPHosts(t, open(t)) })
}
