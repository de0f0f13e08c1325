package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/interval-go/sdk/server"
)

// Run the server in-process: create it, serve it, make a development key
// for the admin and a login link for the console.
func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "interval-example")
	defer os.RemoveAll(dir)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	s, err := server.New(ctx, server.Options{DataDir: dir, PublicURL: "http://" + l.Addr().String()})
	if err != nil {
		fmt.Println(err)
		return
	}
	hs := &http.Server{Handler: s}
	go hs.Serve(l)

	email, link, _ := s.EnsureAdmin(ctx)
	key, _ := s.CreateAPIKey(ctx, email, "development")
	fmt.Println("admin:", email)
	fmt.Println("login link:", strings.HasPrefix(link, s.URL()+"/login/link?token="))
	fmt.Println("hosts use a key like:", key[:4]+"…", "at", strings.HasPrefix("ws"+strings.TrimPrefix(s.URL(), "http")+"/websocket", "ws://"))

	hs.Shutdown(ctx)
	s.Shutdown(ctx)
	// Output:
	// admin: admin@localhost
	// login link: true
	// hosts use a key like: dev_… at true
}
