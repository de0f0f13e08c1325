package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the conformance run leaves no goroutine behind
// (the client, its connection, the Node process's pipes).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
