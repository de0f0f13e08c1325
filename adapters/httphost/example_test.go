package httphost_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/interval-go/sdk/adapters/httphost"
	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/router"
)

// A serverless host: the routes of an ordinary client, served over HTTP.
// Register the URL in the server's console (Settings → Serverless hosts)
// and give the client a live (production) API key.
func Example() {
	r := router.New()
	r.Action("hello", func(ctx context.Context, tx *interval.Tx) (any, error) {
		name, err := tx.IO.Input.Text("Your name").Run(ctx)
		if err != nil {
			return nil, err
		}
		return "Hello, " + name, nil
	})
	c, err := interval.New(interval.Options{
		APIKey:   os.Getenv("INTERVAL_API_KEY"), // live_…
		Endpoint: "wss://interval.example.com/websocket",
		Routes:   r,
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/interval", httphost.New(c))
	// The server keeps each run request open for the whole action: no
	// WriteTimeout shorter than the longest action.
	log.Fatal(http.ListenAndServe(":8080", nil))
}

// On AWS Lambda (API Gateway HTTP API or a function URL), pass Lambda to
// lambda.Start from github.com/aws/aws-lambda-go. GET is a health check;
// a body naming neither id answers 500, as the Node SDK's Lambda handler.
func ExampleHandler_Lambda() {
	c, _ := interval.New(interval.Options{APIKey: "live_key", Endpoint: "wss://interval.example.com/websocket", Routes: router.New()})
	h := httphost.New(c)
	// lambda.Start(h.Lambda)

	var ev httphost.LambdaRequest
	ev.RequestContext.HTTP.Method = "GET"
	res, _ := h.Lambda(context.Background(), ev)
	fmt.Println(res.StatusCode, res.Body)

	ev.RequestContext.HTTP.Method = "POST"
	ev.Body = `{"hello":"world"}`
	res, _ = h.Lambda(context.Background(), ev)
	fmt.Println(res.StatusCode)
	// Output:
	// 200 OK
	// 500
}
