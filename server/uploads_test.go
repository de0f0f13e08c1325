package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every upload the server accepts can be read back at the URL it answered,
// whatever its name: longer than a file system takes (it answered 500 and
// left an empty directory), index.html (http.FileServer redirected it to
// ./, a 404), names starting with a dot (served as 404), names that are
// also the upload's own bookkeeping files. A name too long to be a real
// file's is refused with a 400 saying so and leaves nothing behind; the
// URL with another name is a 404.
func TestUploadNamesReadable(t *testing.T) {
	var logs logBuf
	e := newEnv(t, Options{Logger: logs.logger()})
	admin := e.admin()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	upload := func(name, content string) (int, map[string]any) {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write([]byte(content))
		mw.Close()
		req, _ := http.NewRequest("POST", e.hs.URL+"/api/console/uploads", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set(ConsoleHeader, "1")
		resp, err := admin.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	uploads := func() int {
		t.Helper()
		ents, err := os.ReadDir(filepath.Join(e.dir, "uploads"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return len(ents)
	}
	names := []string{
		strings.Repeat("a", 300) + ".txt",
		strings.Repeat("ü", 200) + ".pdf", // 400 bytes
		"index.html", ".env", ".hidden.txt", "..", "name", "data",
		"a b & c?#%.txt", "%2F.txt", "résumé 2026.pdf",
	}
	var urls []string
	for i, name := range names {
		content := "content of " + name
		code, out := upload(name, content)
		if code != http.StatusOK {
			t.Fatalf("upload %q: HTTP %d %v", name, code, out)
		}
		u, _ := out["url"].(string)
		urls = append(urls, u)
		resp, err := noRedirect.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != content {
			t.Fatalf("upload %d %q answered %v; GET %s: HTTP %d %q", i, name, out, u, resp.StatusCode, got)
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%q served without its sandbox: %v", name, resp.Header)
		}
	}
	if n := uploads(); n != len(names) {
		t.Fatalf("%d upload directories for %d uploads", n, len(names))
	}
	if ct := mustGet(t, urls[2]).Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("index.html served as %q", ct)
	}

	// Another name, or no name, for an upload's id is not found.
	id := strings.Split(strings.TrimPrefix(urls[0], e.hs.URL+"/uploads/"), "/")[0]
	for _, p := range []string{"/uploads/" + id + "/other.txt", "/uploads/" + id + "/data", "/uploads/" + id + "/name", "/uploads/" + id + "/"} {
		if resp := mustGet(t, e.hs.URL+p); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s: HTTP %d", p, resp.StatusCode)
		}
	}

	// Too long to be a file's name: refused up front, nothing left.
	code, out := upload(strings.Repeat("b", maxUploadNameBytes+1), "x")
	if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "file name is longer") {
		t.Fatalf("a %d-byte name: HTTP %d %v", maxUploadNameBytes+1, code, out)
	}
	waitLogged(t, &logs, `msg="upload refused: file name too long"`)
	if n := uploads(); n != len(names) {
		t.Fatalf("%d upload directories after a refused upload, want %d", n, len(names))
	}
}

// An upload stored by an earlier version, under its own name, is still
// served.
func TestUploadEarlierLayoutServed(t *testing.T) {
	e := newEnv(t, Options{})
	id := "0b5e7c9a-3c1f-4d5e-9a7b-2f6d8e1c0a4b"
	dir := filepath.Join(e.dir, "uploads", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.csv"), []byte("a,b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	resp := mustGet(t, e.hs.URL+"/uploads/"+id+"/report.csv")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("earlier upload: HTTP %d", resp.StatusCode)
	}
	if resp := mustGet(t, e.hs.URL+"/uploads/"+id+"/other.csv"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("earlier upload under another name: HTTP %d", resp.StatusCode)
	}
}

// mustGet GETs u without following redirects; the body is read and closed.
func mustGet(t *testing.T, u string) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
