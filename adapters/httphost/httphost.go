// Package httphost serves an interval.Client as a serverless ("HTTP") host
// (PROTOCOL.md §3.5): the server POSTs JSON to the host's URL, and the host
// keeps the request open while it works.
//
//   - {"httpHostId": "…"}: the server checks the host. The handler declares
//     the client's routes (POST /api/hosts/declare, like INITIALIZE_HOST) and
//     answers 200 once the server accepted them.
//   - {"requestId": "…"}: an operator runs an action or opens a page served
//     by this host. The handler opens a fresh connection to the server, runs
//     that one transaction or page and answers 200 once it is over (after
//     RequestOptions.CompleteDelay, or when the server closes it).
//
// A body with neither id answers 400, a failure 500 with the error's text;
// GET answers 200 "OK" (a health check) and other methods 405. Everything is
// bounded by the request's context, so give the platform's request timeout
// room for the longest action (the operator may take a while to answer).
//
// Handler is an http.Handler for any Go HTTP server or Cloud Function; its
// Lambda method handles AWS API Gateway (HTTP API, payload 2.0) and Lambda
// function URL events without importing any AWS module:
// lambda.Start(h.Lambda) with github.com/aws/aws-lambda-go.
//
// Register the host's URL in the server's console (Settings → Serverless
// hosts), and give the client a live (production) API key: HTTP hosts serve
// the production environment.
package httphost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/interval-go/sdk/interval"
)

// MaxBodyBytes bounds the request bodies the handler reads.
const MaxBodyBytes = 64 << 10

// Errors of a request body.
var (
	// ErrBadBody is returned for a body that is not a JSON object.
	ErrBadBody = errors.New("httphost: the body is not a JSON object")
	// ErrNoID is returned for a body with neither requestId nor httpHostId.
	ErrNoID = errors.New("httphost: the body has neither requestId nor httpHostId")
)

// Handler serves a client as a serverless host. Create it with New; set its
// fields before serving.
type Handler struct {
	// Client is the host whose routes are declared and run.
	Client *interval.Client
	// Request tunes each run request (completion delay, start timeout).
	Request interval.RequestOptions
	// Logger receives a line for every failed request; nil uses
	// slog.Default().
	Logger *slog.Logger
}

// New returns a Handler for c with the default request options.
func New(c *interval.Client) *Handler {
	return &Handler{Client: c}
}

// Body is the JSON body the server POSTs to a serverless host.
type Body struct {
	// RequestID asks the host to run the transaction or page of that
	// request.
	RequestID string `json:"requestId,omitempty"`
	// HTTPHostID asks the host to declare its routes for that host.
	HTTPHostID string `json:"httpHostId,omitempty"`
}

// ParseBody decodes a request body, failing with ErrBadBody when it is not
// a JSON object and ErrNoID when it names neither id.
func ParseBody(b []byte) (Body, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return Body{}, ErrBadBody
	}
	var body Body
	if err := json.Unmarshal(b, &body); err != nil {
		return Body{}, fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	if body.RequestID == "" && body.HTTPHostID == "" {
		return Body{}, ErrNoID
	}
	return body, nil
}

// Handle runs the work a body asks for: ServeRequest for a requestId
// (which wins when both are set, as in the Node SDK), Declare for an
// httpHostId.
func (h *Handler) Handle(ctx context.Context, body Body) error {
	if h.Client == nil {
		return errors.New("httphost: Handler without a Client")
	}
	if body.RequestID != "" {
		return h.Client.ServeRequest(ctx, body.RequestID, &h.Request)
	}
	if body.HTTPHostID != "" {
		return h.Client.Declare(ctx, body.HTTPHostID)
	}
	return ErrNoID
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// ServeHTTP implements http.Handler: GET answers 200 "OK", POST runs the
// body's work (200, 400 for a body without either id, 500 on failure), any
// other method 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "OK")
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		h.log().Warn("serverless host: unreadable request body", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	body, err := ParseBody(b)
	if err != nil {
		h.log().Warn("serverless host: bad request body", "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := h.Handle(r.Context(), body); err != nil {
		h.log().Error("serverless host: request failed", "requestId", body.RequestID, "httpHostId", body.HTTPHostID, "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "OK")
}

// LambdaRequest is the part of an AWS API Gateway HTTP API (payload format
// 2.0) or Lambda function URL event the handler reads.
type LambdaRequest struct {
	Version        string `json:"version"`
	RequestContext struct {
		HTTP struct {
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
	Body            string `json:"body"`
	IsBase64Encoded bool   `json:"isBase64Encoded"`
}

// LambdaResponse is the answer to a LambdaRequest, in the shape API Gateway
// and function URLs expect.
type LambdaResponse struct {
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
}

func lambdaResponse(status int, body string) LambdaResponse {
	return LambdaResponse{StatusCode: status, Body: body, Headers: map[string]string{"content-type": "text/plain; charset=utf-8"}}
}

// Lambda handles one Lambda event like the Node SDK's lambdaRequestHandler:
// GET answers 200, other methods than POST 405, a missing or unparsable body
// 400, a body with neither id 500 (as the Node SDK does), a failure 500 and
// success 200. The error is always nil: failures are answers. Pass it to
// lambda.Start; ctx carries the invocation's deadline.
func (h *Handler) Lambda(ctx context.Context, ev LambdaRequest) (LambdaResponse, error) {
	switch ev.RequestContext.HTTP.Method {
	case http.MethodGet:
		return lambdaResponse(http.StatusOK, "OK"), nil
	case http.MethodPost:
	default:
		return lambdaResponse(http.StatusMethodNotAllowed, "method not allowed"), nil
	}
	raw := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			h.log().Warn("serverless host: bad base64 body", "err", err)
			return lambdaResponse(http.StatusBadRequest, "bad base64 body"), nil
		}
		raw = b
	}
	if len(raw) > MaxBodyBytes {
		h.log().Warn("serverless host: body too large", "bytes", len(raw))
		return lambdaResponse(http.StatusBadRequest, "body too large"), nil
	}
	body, err := ParseBody(raw)
	switch {
	case errors.Is(err, ErrNoID):
		h.log().Warn("serverless host: bad request body", "err", err)
		return lambdaResponse(http.StatusInternalServerError, err.Error()), nil
	case err != nil:
		h.log().Warn("serverless host: bad request body", "err", err)
		return lambdaResponse(http.StatusBadRequest, err.Error()), nil
	}
	if err := h.Handle(ctx, body); err != nil {
		h.log().Error("serverless host: request failed", "requestId", body.RequestID, "httpHostId", body.HTTPHostID, "err", err)
		return lambdaResponse(http.StatusInternalServerError, err.Error()), nil
	}
	return lambdaResponse(http.StatusOK, "OK"), nil
}
