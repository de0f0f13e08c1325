package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// A data dir whose name holds what SQLite's URI file names give a meaning
// to ('#', '?', '%') opens the database inside it, not at a path cut
// short at the '#' (a file shared by every such dir) or at the '?'.
func TestOpenDataDirWithURICharacters(t *testing.T) {
	for _, name := range []string{"runs#2", "what?", "100%25", "a b#c?d%e"} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, name)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			s, err := Open(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			must(t, s.CreateTransaction(context.Background(), newTx("p1")))
			must(t, s.Close())
			if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
				t.Fatalf("database not in the data dir: %v", err)
			}
			entries, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("files beside the data dir: %v", names)
			}
			again, err := Open(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			if _, err := again.Transaction(context.Background(), "p1"); err != nil {
				t.Fatalf("reopened: %v", err)
			}
		})
	}
}
