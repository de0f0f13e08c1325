package interval_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/interval-go/sdk/interval"
	"github.com/interval-go/sdk/intervaltest"
)

type refundForm struct {
	Email  string        `interval:"Customer email,email,help=Who pays"`
	Amount float64       `interval:"min=0,max=500,currency=USD"`
	Count  int           `interval:"min=1,max=10"`
	Reason string        `interval:"options=damaged|late|other"`
	Tags   []string      `interval:"options=vip|new,optional"`
	Note   *string       `interval:"multiline=3"`
	Notify bool          `json:"notify"`
	On     interval.Date `interval:"label=Ship on"`
	At     time.Time
	Skip   string `interval:"-"`
	Small  uint8
	UserID int64 `interval:"optional"`
}

func TestFormFromStruct(t *testing.T) {
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		v, err := interval.Form[refundForm](tx.IO, "Refund").
			Default(refundForm{Amount: 12.5, Reason: "late"}).
			Validate(func(r *refundForm) error {
				if r.Reason == "other" && r.Count > 1 {
					return &interval.FormError{Field: "Count", Message: "Only one item for other reasons."}
				}
				if strings.HasSuffix(r.Email, "@blocked.example") {
					return errors.New("This customer is blocked.")
				}
				return nil
			}).Run(ctx)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("%s %.2f %d %s %v %q %v %s %s %d %d", v.Email, v.Amount, v.Count, v.Reason, v.Tags, *v.Note, v.Notify,
			v.On, v.At.Format(time.RFC3339), v.Small, v.UserID), nil
	})
	r := a.next()
	labels := strings.Join(r.Labels(), "|")
	if labels != "Refund|Customer email|Amount|Count|Reason|Tags|Note|Notify|Ship on|At|Small|User id" {
		t.Fatalf("labels %s", labels)
	}
	checks := map[string][2]string{
		"Customer email": {"INPUT_EMAIL", `{"helpText":"Who pays"}`},
		"Amount":         {"INPUT_NUMBER", `{"min":0,"max":500,"defaultValue":12.5,"decimals":2,"currency":"USD"}`},
		"Count":          {"INPUT_NUMBER", `{"min":1,"max":10}`},
		"Reason":         {"SELECT_SINGLE", `{"options":[{"label":"damaged","value":"damaged"},{"label":"late","value":"late"},{"label":"other","value":"other"}],"defaultValue":{"label":"late","value":"late"}}`},
		"Tags":           {"SELECT_MULTIPLE", `{"options":[{"label":"vip","value":"vip"},{"label":"new","value":"new"}],"defaultValue":[]}`},
		"Note":           {"INPUT_TEXT", `{"multiline":true,"lines":3}`},
		"Notify":         {"INPUT_BOOLEAN", `{"defaultValue":false}`},
		"Ship on":        {"INPUT_DATE", `{}`},
		"At":             {"INPUT_DATETIME", `{}`},
		"Small":          {"INPUT_NUMBER", `{"min":0}`},
		"Refund":         {"DISPLAY_HEADING", `{}`},
	}
	for label, w := range checks {
		if c := mustComponent(t, r, label); c.MethodName != w[0] || c.Props != w[1] {
			t.Errorf("%s: %s %s, want %s %s", label, c.MethodName, c.Props, w[0], w[1])
		}
	}
	for _, label := range []string{"Tags", "Note", "User id"} {
		if c, _ := r.Component(label); !c.IsOptional {
			t.Errorf("%s should be optional", label)
		}
	}
	good := intervaltest.Values{
		"Customer email": "ada@example.com", "Amount": 20.25, "Count": 2, "Reason": map[string]string{"label": "late", "value": "late"},
		"Tags": []map[string]string{{"label": "vip", "value": "vip"}}, "Note": "fragile", "Notify": true,
		"Ship on": map[string]int{"year": 2024, "month": 5, "day": 1}, "At": map[string]int{"year": 2024, "month": 5, "day": 1, "hour": 8, "minute": 30},
		"Small": 7,
	}
	with := func(k string, v any) intervaltest.Values {
		out := intervaltest.Values{}
		for key, x := range good {
			out[key] = x
		}
		out[k] = v
		return out
	}
	bad := []struct {
		label string
		value any
		msg   string
	}{
		{"Count", "many", "Please enter a number."},
		{"Count", 1.5, "Please enter a whole number."},
		{"Small", 300, "This number is out of range."},
		{"Amount", 20.125, "Please enter a number with at most 2 decimal places."},
		{"Reason", map[string]string{"label": "x", "value": "x"}, "Please choose one of the options."},
		{"Count", 3, "Only one item for other reasons."}, // with Reason other, below
	}
	for _, b := range bad {
		v := with(b.label, b.value)
		if b.msg == "Only one item for other reasons." {
			v["Reason"] = map[string]string{"label": "other", "value": "other"}
		}
		a.answer(r, v)
		r = a.next()
		if c, _ := r.Component(b.label); c.ValidationErrorMessage != b.msg {
			t.Fatalf("%s=%v: message %q, want %q", b.label, b.value, c.ValidationErrorMessage, b.msg)
		}
		if r.ValidationErrorMessage != "" {
			t.Fatalf("form message %q for a field error", r.ValidationErrorMessage)
		}
	}
	a.answer(r, with("Customer email", "x@blocked.example"))
	r = a.next()
	if r.ValidationErrorMessage != "This customer is blocked." {
		t.Fatalf("form message %q", r.ValidationErrorMessage)
	}
	a.answer(r, good)
	if res := a.result(); res.Data != `ada@example.com 20.25 2 late [vip] "fragile" true 2024-05-01 2024-05-01T08:30:00Z 7 0` {
		t.Fatalf("result %v", res.Data)
	}
}

func TestFormRejectsUnsupportedTypes(t *testing.T) {
	type bad struct{ M map[string]int }
	type badTag struct {
		N int `interval:"min=lots"`
	}
	errs := make(chan error, 3)
	startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		_, err := interval.Form[bad](tx.IO, "").Run(ctx)
		errs <- err
		_, err = interval.Form[badTag](tx.IO, "").Run(ctx)
		errs <- err
		_, err = interval.Form[int](tx.IO, "").Run(ctx)
		errs <- err
		return nil, nil
	}).result()
	for _, want := range []string{"unsupported type map[string]int", `tag min="lots" is not a number`, "int is not a struct"} {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v, want %q", err, want)
		}
	}
}

type (
	formLevel string
	formFlag  bool
)

type prefsForm struct {
	Email  string    `interval:"email"`
	Bio    formLevel `interval:"richtext"`
	Site   string    `interval:"url"`
	Name   *string
	On     interval.Date
	At     interval.TimeOfDay
	Active formFlag
	Opt    *bool
}

// Defaults reach every kind of input, including named and pointer field
// types, and the answers come back into those types.
func TestFormDefaultsAndNamedTypes(t *testing.T) {
	name := "Ada"
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		v, err := interval.Form[prefsForm](tx.IO, "Prefs").Default(prefsForm{
			Email: "ada@example.com", Bio: "<p>hi</p>", Site: "https://ada.example", Name: &name,
			On: interval.Date{Year: 2024, Month: 5, Day: 1}, At: interval.TimeOfDay{Hour: 8, Minute: 30}, Active: true,
		}).Run(ctx)
		if err != nil {
			return nil, err
		}
		return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%v|%v", v.Email, v.Bio, v.Site, *v.Name, v.On, v.At, v.Active, v.Opt), nil
	})
	r := a.next()
	for label, props := range map[string]string{
		"Email":  `{"defaultValue":"ada@example.com"}`,
		"Bio":    `{"defaultValue":"<p>hi</p>"}`,
		"Site":   `{"defaultValue":"https://ada.example","allowedProtocols":["http","https"]}`,
		"Name":   `{"defaultValue":"Ada"}`,
		"On":     `{"defaultValue":{"year":2024,"month":5,"day":1}}`,
		"At":     `{"defaultValue":{"hour":8,"minute":30}}`,
		"Active": `{"defaultValue":true}`,
		"Opt":    `{"defaultValue":false}`,
	} {
		if c := mustComponent(t, r, label); c.Props != props {
			t.Errorf("%s: props %s, want %s", label, c.Props, props)
		}
	}
	if c, _ := r.Component("Opt"); !c.IsOptional {
		t.Error("a pointer field is optional")
	}
	a.answer(r, intervaltest.Values{"Email": "bob@example.com", "Bio": "<b>yo</b>", "Site": "https://bob.example/x",
		"Name": "Bob", "On": map[string]int{"year": 2025, "month": 1, "day": 2}, "At": map[string]int{"hour": 9, "minute": 5},
		"Active": false})
	if res := a.result(); res.Data != "bob@example.com|<b>yo</b>|https://bob.example/x|Bob|2025-01-02|09:05|false|<nil>" {
		t.Fatalf("result %v", res.Data)
	}
}

// Tags bound a text field's length and set its placeholder and help; a
// too short or too long answer is reported on that field only, and a
// FormError naming the field by its json name lands on it too.
func TestFormTextBoundsOnTheRightField(t *testing.T) {
	type profile struct {
		Handle string `json:"handle" interval:"Handle,min=2,max=5,placeholder=ada,help=Shown publicly"`
		City   string `interval:"optional"`
	}
	a := startAction(t, func(ctx context.Context, tx *interval.Tx) (any, error) {
		v, err := interval.Form[profile](tx.IO, "").Validate(func(p *profile) error {
			if p.Handle == "root" {
				return &interval.FormError{Field: "handle", Message: "This handle is reserved."}
			}
			return nil
		}).Run(ctx)
		return v.Handle + "|" + v.City, err
	})
	r := a.next()
	if c := mustComponent(t, r, "Handle"); c.Props != `{"helpText":"Shown publicly","placeholder":"ada","minLength":2,"maxLength":5}` {
		t.Fatalf("props %s", c.Props)
	}
	for _, b := range []struct{ handle, msg string }{
		{"a", "Please enter at least 2 characters."},
		{"abcdef", "Please enter no more than 5 characters."},
		{"root", "This handle is reserved."},
	} {
		a.answer(r, intervaltest.Values{"Handle": b.handle, "City": "Paris"})
		r = a.next()
		h, _ := r.Component("Handle")
		c, _ := r.Component("City")
		if h.ValidationErrorMessage != b.msg || c.ValidationErrorMessage != "" || r.ValidationErrorMessage != "" {
			t.Fatalf("%q: handle %q, city %q, form %q", b.handle, h.ValidationErrorMessage, c.ValidationErrorMessage, r.ValidationErrorMessage)
		}
	}
	a.answer(r, intervaltest.Values{"Handle": "ada", "City": nil})
	if res := a.result(); res.Data != "ada|" {
		t.Fatalf("result %v", res.Data)
	}
}
