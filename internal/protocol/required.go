package protocol

import (
	"bytes"
	"encoding/json"
)

// The Node SDK and the Interval server validate with zod, where a required
// array or record rejects null and an optional one rejects null too. A nil
// Go slice or RawMessage would marshal as null and make the receiver drop
// the whole call silently, so these MarshalJSON methods write the empty
// value instead. Field order is unchanged.

// MarshalJSON writes actions as [] when nil (unless the legacy
// callableActionNames form is used) and omits nil groups.
func (in InitializeHostInputs) MarshalJSON() ([]byte, error) {
	type plain InitializeHostInputs
	p := plain(in)
	if p.Actions == nil && p.CallableActionNames == nil {
		p.Actions = []ActionDefinition{}
	}
	return marshalNoHTML(p)
}

// MarshalJSON writes actions as [] when nil.
func (in DeclareHostInputs) MarshalJSON() ([]byte, error) {
	type plain DeclareHostInputs
	p := plain(in)
	if p.Actions == nil {
		p.Actions = []ActionDefinition{}
	}
	return marshalNoHTML(p)
}

// MarshalJSON writes teams as [] when nil.
func (u User) MarshalJSON() ([]byte, error) {
	type plain User
	p := plain(u)
	if p.Teams == nil {
		p.Teams = []string{}
	}
	return marshalNoHTML(p)
}

var emptyObject = json.RawMessage(`{}`)

func isNullJSON(r json.RawMessage) bool { return len(r) == 0 || string(r) == "null" }

// MarshalJSON writes params as {} when unset.
func (s StartTransactionInputs) MarshalJSON() ([]byte, error) {
	type plain StartTransactionInputs
	p := plain(s)
	if isNullJSON(p.Params) {
		p.Params = emptyObject
	}
	return marshalNoHTML(p)
}

// MarshalJSON writes params as {} when unset.
func (o OpenPageInputs) MarshalJSON() ([]byte, error) {
	type plain OpenPageInputs
	p := plain(o)
	if isNullJSON(p.Params) {
		p.Params = emptyObject
	}
	return marshalNoHTML(p)
}

// MarshalJSON writes deliveryInstructions as [] when nil (POST /api/notify
// requires the array).
func (n NotifyInputs) MarshalJSON() ([]byte, error) {
	type plain NotifyInputs
	p := plain(n)
	if p.DeliveryInstructions == nil {
		p.DeliveryInstructions = []DeliveryInstruction{}
	}
	return marshalNoHTML(p)
}

// MarshalJSON writes deliveries as [] when nil.
func (n ClientNotifyInputs) MarshalJSON() ([]byte, error) {
	type plain ClientNotifyInputs
	p := plain(n)
	if p.Deliveries == nil {
		p.Deliveries = []DeliveryInstruction{}
	}
	return marshalNoHTML(p)
}

// MarshalJSON writes toRender as [] when nil and props as {} when unset.
func (r IORender) MarshalJSON() ([]byte, error) {
	type plain IORender
	p := plain(r)
	if p.ToRender == nil {
		p.ToRender = []ComponentRender{}
	}
	return marshalNoHTML(p)
}

// MarshalJSON writes props as {} when unset (the browser parses props with
// the method's object schema).
func (c ComponentRender) MarshalJSON() ([]byte, error) {
	type plain ComponentRender
	p := plain(c)
	if isNullJSON(p.Props) {
		p.Props = emptyObject
	}
	return marshalNoHTML(p)
}

// marshalNoHTML is json.Marshal without HTML escaping, like JSON.stringify.
// MarshalJSON methods use it so that the caller's encoder decides: an outer
// json.Marshal still escapes <, > and &; an Encoder with SetEscapeHTML(false)
// gets the bytes Node would send.
// Marshal encodes v as JSON.stringify would: like json.Marshal but without
// escaping <, > and &, so payloads match the Node SDK's bytes.
func Marshal(v any) ([]byte, error) { return marshalNoHTML(v) }

func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// MarshalJSON writes invalidSlugs and warnings as [] in the success shape,
// where the SDKs require both arrays.
func (r DeclareHostReturns) MarshalJSON() ([]byte, error) {
	type plain DeclareHostReturns
	if r.Type != "success" {
		return marshalNoHTML(plain(r))
	}
	p := struct {
		Type         string    `json:"type"`
		InvalidSlugs []string  `json:"invalidSlugs"`
		SDKAlert     *SDKAlert `json:"sdkAlert,omitempty"`
		Warnings     []string  `json:"warnings"`
	}{r.Type, r.InvalidSlugs, r.SDKAlert, r.Warnings}
	if p.InvalidSlugs == nil {
		p.InvalidSlugs = []string{}
	}
	if p.Warnings == nil {
		p.Warnings = []string{}
	}
	return marshalNoHTML(p)
}
