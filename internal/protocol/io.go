package protocol

import (
	"encoding/json"
	"fmt"
)

// IO render and response kinds.
const (
	KindRender   = "RENDER"
	KindReturn   = "RETURN"
	KindSetState = "SET_STATE"
	KindCanceled = "CANCELED"
)

// ChoiceButton is one submit button of an IO call.
type ChoiceButton struct {
	Label string `json:"label"`
	Value string `json:"value"`
	Theme string `json:"theme,omitempty"`
}

// MultipleProps carries the default values of a .multiple() component.
type MultipleProps struct {
	DefaultValue []any `json:"defaultValue,omitzero"` // nil: absent; empty: []
}

// ComponentRender is one component of an IO call. Props is the superjson
// json half of the method's props and PropsMeta its meta half.
type ComponentRender struct {
	MethodName             string          `json:"methodName"`
	Label                  string          `json:"label"`
	IsStateful             bool            `json:"isStateful"`
	IsOptional             bool            `json:"isOptional"`
	IsMultiple             bool            `json:"isMultiple"`
	ValidationErrorMessage string          `json:"validationErrorMessage,omitempty"`
	MultipleProps          *MultipleProps  `json:"multipleProps,omitempty"`
	Props                  json.RawMessage `json:"props"`
	PropsMeta              json.RawMessage `json:"propsMeta,omitempty"`
}

// IORender is the render instruction of one IO call (the ioCall string of
// SEND_IO_CALL, and the children of a page layout). Field order is the Node
// SDK's: id, inputGroupKey, toRender, validationErrorMessage, kind,
// choiceButtons.
type IORender struct {
	ID                     string            `json:"id"`
	InputGroupKey          string            `json:"inputGroupKey"`
	ToRender               []ComponentRender `json:"toRender"`
	ValidationErrorMessage string            `json:"validationErrorMessage,omitempty"`
	Kind                   string            `json:"kind"`
	ChoiceButtons          []ChoiceButton    `json:"choiceButtons,omitempty"`
	ContinueButton         *ContinueButton   `json:"continueButton,omitempty"`
}

// ContinueButton is the legacy single-button form of ChoiceButtons.
type ContinueButton struct {
	Label string `json:"label,omitempty"`
	Theme string `json:"theme,omitempty"`
}

// DecodeIORender parses an ioCall string.
func DecodeIORender(s string) (IORender, error) {
	var r IORender
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return IORender{}, fmt.Errorf("%w: ioCall: %v", ErrMalformed, err)
	}
	if r.ID == "" || r.InputGroupKey == "" {
		return IORender{}, fmt.Errorf("%w: ioCall without id or inputGroupKey", ErrMalformed)
	}
	for i, c := range r.ToRender {
		if c.MethodName == "" {
			return IORender{}, fmt.Errorf("%w: ioCall component %d without methodName", ErrMalformed, i)
		}
	}
	return r, nil
}

// IOResponse is an operator's answer to an IO call (the value string of
// IO_RESPONSE). Values holds one raw JSON value per component.
type IOResponse struct {
	ID            string            `json:"id"`
	TransactionID string            `json:"transactionId"`
	InputGroupKey string            `json:"inputGroupKey,omitempty"`
	Values        []json.RawMessage `json:"values"`
	ValuesMeta    json.RawMessage   `json:"valuesMeta,omitempty"`
	Choice        string            `json:"choice,omitempty"`
	Kind          string            `json:"kind"`
}

// DecodeIOResponse parses an IO response string. Like the Node SDK's zod
// schema it requires id, transactionId (strings), kind and a values array;
// inputGroupKey, choice and valuesMeta are optional.
func DecodeIOResponse(s string) (IOResponse, error) {
	var resp IOResponse
	hasID, hasTx, ok := decodeIOResponseFast(s, &resp)
	if !ok {
		return decodeIOResponseSlow(s)
	}
	switch resp.Kind {
	case KindReturn, KindSetState, KindCanceled:
	default:
		return IOResponse{}, fmt.Errorf("%w: io response kind %q", ErrMalformed, resp.Kind)
	}
	if !hasID || !hasTx {
		return IOResponse{}, fmt.Errorf("%w: io response without id or transactionId", ErrMalformed)
	}
	if resp.Values == nil {
		return IOResponse{}, fmt.Errorf("%w: io response without values array", ErrMalformed)
	}
	return resp, nil
}

func decodeIOResponseSlow(s string) (IOResponse, error) {
	var r struct {
		IOResponse
		ID            *string `json:"id"`
		TransactionID *string `json:"transactionId"`
	}
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return IOResponse{}, fmt.Errorf("%w: io response: %v", ErrMalformed, err)
	}
	switch r.Kind {
	case KindReturn, KindSetState, KindCanceled:
	default:
		return IOResponse{}, fmt.Errorf("%w: io response kind %q", ErrMalformed, r.Kind)
	}
	if r.ID == nil || r.TransactionID == nil {
		return IOResponse{}, fmt.Errorf("%w: io response without id or transactionId", ErrMalformed)
	}
	if r.Values == nil {
		return IOResponse{}, fmt.Errorf("%w: io response without values array", ErrMalformed)
	}
	r.IOResponse.ID, r.IOResponse.TransactionID = *r.ID, *r.TransactionID
	return r.IOResponse, nil
}

// ActionResult is the JSON text carried in MARK_TRANSACTION_COMPLETE.result.
type ActionResult struct {
	SchemaVersion int             `json:"schemaVersion"`
	Status        string          `json:"status"`
	Data          json.RawMessage `json:"data"`
	Meta          json.RawMessage `json:"meta,omitempty"`
}

// ErrorData is the data of a FAILURE result.
type ErrorData struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Cause   string `json:"cause,omitempty"`
}

// ButtonItem is a menu button of a page layout or heading.
type ButtonItem struct {
	Label    string         `json:"label"`
	Theme    string         `json:"theme,omitempty"`
	Route    string         `json:"route,omitempty"`
	Action   string         `json:"action,omitempty"`
	URL      string         `json:"url,omitempty"`
	Params   map[string]any `json:"params,omitempty"`
	Disabled bool           `json:"disabled,omitempty"`
}

// LayoutError is an error shown on a page.
type LayoutError struct {
	LayoutKey string `json:"layoutKey,omitempty"`
	Error     string `json:"error"`
	Message   string `json:"message"`
	Cause     string `json:"cause,omitempty"`
	Stack     string `json:"stack,omitempty"`
}

// Layout is a page layout (the page string of SEND_PAGE). Kind is "BASIC".
// A nil Title/Description is absent (no title); TitleLoading /
// DescriptionLoading send null instead, the Node SDK's "still loading".
// Errors is always an array on the wire ([] when nil), as Node sends it.
type Layout struct {
	Kind        string        `json:"kind"`
	Title       *string       `json:"title,omitempty"`
	Description *string       `json:"description,omitempty"`
	MenuItems   []ButtonItem  `json:"menuItems,omitempty"`
	Children    *IORender     `json:"children,omitempty"`
	Errors      []LayoutError `json:"errors"`

	TitleLoading       bool `json:"-"`
	DescriptionLoading bool `json:"-"`
}

// MarshalJSON writes the Node SDK's key order: kind, title, description,
// menuItems, children, errors.
func (l Layout) MarshalJSON() ([]byte, error) {
	type plain Layout
	p := plain(l)
	if p.Errors == nil {
		p.Errors = []LayoutError{}
	}
	b, err := marshalNoHTML(p)
	if err != nil || (!l.TitleLoading && !l.DescriptionLoading) {
		return b, err
	}
	// Rebuild with nulls: kind first, then title/description.
	var kind []byte
	kind, err = marshalNoHTML(l.Kind)
	if err != nil {
		return nil, err
	}
	out := append([]byte(`{"kind":`), kind...)
	if l.TitleLoading {
		out = append(out, `,"title":null`...)
	} else if l.Title != nil {
		out = append(out, `,"title":`...)
		out = appendJSONString(out, *l.Title)
	}
	if l.DescriptionLoading {
		out = append(out, `,"description":null`...)
	} else if l.Description != nil {
		out = append(out, `,"description":`...)
		out = appendJSONString(out, *l.Description)
	}
	p.Title, p.Description, p.Kind = nil, nil, ""
	rest, err := marshalNoHTML(p) // {"kind":"",…}
	if err != nil {
		return nil, err
	}
	rest = rest[len(`{"kind":""`):]
	return append(out, rest...), nil
}

// UnmarshalJSON reads a layout, setting TitleLoading / DescriptionLoading
// for null.
func (l *Layout) UnmarshalJSON(p []byte) error {
	type plain Layout
	var aux struct {
		plain
		Title       json.RawMessage `json:"title"`
		Description json.RawMessage `json:"description"`
	}
	if err := json.Unmarshal(p, &aux); err != nil {
		return err
	}
	*l = Layout(aux.plain)
	for _, f := range []struct {
		raw     json.RawMessage
		dst     **string
		loading *bool
	}{{aux.Title, &l.Title, &l.TitleLoading}, {aux.Description, &l.Description, &l.DescriptionLoading}} {
		switch {
		case len(f.raw) == 0:
		case string(f.raw) == "null":
			*f.loading = true
		default:
			var s string
			if err := json.Unmarshal(f.raw, &s); err != nil {
				return err
			}
			*f.dst = &s
		}
	}
	return nil
}
