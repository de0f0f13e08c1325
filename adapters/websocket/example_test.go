package websocket_test

import (
	"net/http"
	"net/url"

	"github.com/interval-go/sdk/adapters/websocket"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

// A host behind an auth gateway and an outgoing proxy: the gateway's token
// goes in the upgrade request's header, the proxy in the HTTP client.
func ExampleTransport() {
	proxy, _ := url.Parse("http://proxy.internal:3128")
	tr := &websocket.Transport{
		Header:     http.Header{"Authorization": {"Bearer gateway-token"}},
		HTTPClient: &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}},
	}
	r := router.New()
	c, err := interval.New(interval.Options{
		Endpoint:  "wss://interval.example.com/websocket",
		APIKey:    "live_key",
		Routes:    r,
		Transport: tr,
	})
	if err != nil {
		panic(err)
	}
	_ = c // c.Listen(ctx) dials through tr
	// Output:
}
