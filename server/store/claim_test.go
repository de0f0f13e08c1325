package store

import (
	"context"
	"errors"
	"testing"
)

// TestClaimOneServer: while one server holds the claim on a store, a second
// process (here: a second opening of the same database) cannot claim it;
// once released, it can.
func TestClaimOneServer(t *testing.T) {
	each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		a, b := open(t), open(t)
		release, err := a.(Claimer).Claim(ctx)
		if err != nil {
			t.Fatalf("first claim: %v", err)
		}
		if _, err := b.(Claimer).Claim(ctx); !errors.Is(err, ErrInUse) {
			t.Fatalf("second claim while held: %v, want ErrInUse", err)
		}
		release()
		release2, err := b.(Claimer).Claim(ctx)
		if err != nil {
			t.Fatalf("claim after release: %v", err)
		}
		release2()
	})
}
