package interval

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Source is where IO components are built: the *Tx in an action and the
// *Page in a page, as in interval.SelectTable(tx, …) and
// interval.DisplayTable(page, …). tx.IO and its families (tx.IO.Input,
// tx.IO.Display, tx.IO.Select) and page.Display are Sources too. The
// package-level generic constructors (SelectSingle, DisplayTable, Form, …)
// take a Source because Go methods cannot have type parameters.
type Source interface {
	ioc() *ioClient
}

// ioc makes a Tx a Source: its transaction's IO, or the page's for the Tx a
// page's middleware receives.
func (tx *Tx) ioc() *ioClient {
	switch {
	case tx == nil:
		return nil
	case tx.Page != nil:
		return tx.Page.ioc()
	}
	return tx.IO.ioc()
}

func (io *IO) ioc() *ioClient {
	if io == nil {
		return nil
	}
	return io.c
}
func (in InputIO) ioc() *ioClient  { return in.c }
func (d DisplayIO) ioc() *ioClient { return d.c }
func (s SelectIO) ioc() *ioClient  { return s.c }
func (p *Page) ioc() *ioClient {
	if p == nil || p.p == nil {
		return nil
	}
	return p.p.io
}
func sourceOf(s Source) *ioClient {
	if s == nil {
		return nil
	}
	return s.ioc()
}

// Date is a calendar day without a time zone, as INPUT_DATE returns it.
// The zero Date is no day: it is what an optional date input left empty
// gives, its Time is the zero time.Time and its String is "".
type Date struct {
	Year  int `json:"year"`
	Month int `json:"month"` // 1-12
	Day   int `json:"day"`
}

// DateOf returns the calendar day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: int(m), Day: d}
}

// Time returns midnight of the day in loc (time.UTC when nil). The zero
// Date (an optional date left empty) gives the zero time.Time, whose
// IsZero is true, not a day of year -1.
func (d Date) Time(loc *time.Location) time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, loc)
}

// IsZero reports whether d is the zero Date: no day, as an optional date
// input left empty gives.
func (d Date) IsZero() bool { return d == Date{} }

// String formats the day as YYYY-MM-DD, and the zero Date as "".
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// valid reports whether d names a real calendar day.
func (d Date) valid() bool {
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return false
	}
	return DateOf(d.Time(time.UTC)) == d
}

func (d Date) before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// TimeOfDay is a wall-clock time (24-hour), as INPUT_TIME returns it. Its
// zero value is midnight, a real time: an optional time input left empty
// also gives it, so ask the input's Answered to tell the two apart.
type TimeOfDay struct {
	Hour   int `json:"hour"`
	Minute int `json:"minute"`
}

// TimeOfDayOf returns the wall-clock time of t in t's location.
func TimeOfDayOf(t time.Time) TimeOfDay { return TimeOfDay{Hour: t.Hour(), Minute: t.Minute()} }

// On returns the instant of this time on day d in loc (time.UTC when nil).
// On the zero Date (no day) it returns the zero time.Time.
func (t TimeOfDay) On(d Date, loc *time.Location) time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(d.Year, time.Month(d.Month), d.Day, t.Hour, t.Minute, 0, 0, loc)
}

// String formats the time as HH:MM.
func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute) }

func (t TimeOfDay) valid() bool { return t.Hour >= 0 && t.Hour < 24 && t.Minute >= 0 && t.Minute < 60 }

func (t TimeOfDay) minutes() int { return t.Hour*60 + t.Minute }

// DateTime is a day and a wall-clock time without a time zone, as
// INPUT_DATETIME returns it. On the wire it is one flat object
// {year, month, day, hour, minute}. A DateTime whose Date is zero (the zero
// DateTime: an optional input left empty) is no instant: IsZero is true,
// Time returns the zero time.Time and String "".
type DateTime struct {
	Date
	TimeOfDay
}

// DateTimeOf returns the day and time of t in t's location.
func DateTimeOf(t time.Time) DateTime { return DateTime{DateOf(t), TimeOfDayOf(t)} }

// Time returns the instant in loc (time.UTC when nil); the zero time.Time
// when dt's Date is zero (an optional input left empty), never a day of
// year -1.
func (dt DateTime) Time(loc *time.Location) time.Time { return dt.TimeOfDay.On(dt.Date, loc) }

// IsZero reports whether dt has no day (its Date is zero), as an optional
// date and time input left empty gives.
func (dt DateTime) IsZero() bool { return dt.Date.IsZero() }

// String formats the value as YYYY-MM-DD HH:MM, and "" when dt has no day.
func (dt DateTime) String() string {
	if dt.IsZero() {
		return ""
	}
	return dt.Date.String() + " " + dt.TimeOfDay.String()
}

func (dt DateTime) before(o DateTime) bool {
	if dt.Date != o.Date {
		return dt.Date.before(o.Date)
	}
	return dt.minutes() < o.minutes()
}

// Image sizes for Image.Size.
const (
	SizeThumbnail = "thumbnail"
	SizeSmall     = "small"
	SizeMedium    = "medium"
	SizeLarge     = "large"
)

// Image is a picture shown in a select option, table cell, search result
// or metadata item. Size is "thumbnail", "small", "medium" or "large".
type Image struct {
	URL  string
	Alt  string
	Size string
}

// wireImage is the Image wire shape.
type wireImage struct {
	Alt    string `json:"alt,omitempty"`
	Size   string `json:"size,omitempty"`
	Width  string `json:"width,omitempty"`
	Height string `json:"height,omitempty"`
	URL    string `json:"url"`
}

// wire is the image of a select option, search result or metadata item:
// the Node SDK sends its size as it is.
func (im *Image) wire() *wireImage {
	if im == nil {
		return nil
	}
	return &wireImage{Alt: im.Alt, Size: knownSize(im.Size), URL: im.URL}
}

// oneOf reports whether v is one of the allowed values.
func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func validSize(s string) bool { return oneOf(s, SizeThumbnail, SizeSmall, SizeMedium, SizeLarge) }

// knownSize drops a size the protocol does not know (the console would
// refuse the whole component's props).
func knownSize(s string) string {
	if validSize(s) {
		return s
	}
	return ""
}

func validTheme(t string) bool {
	return oneOf(t, "", ThemePrimary, ThemeSecondary, ThemeDanger, "default")
}

// badValue is the construction error of a builder given a value the
// protocol does not know; Run returns it before anything is sent.
func badValue(method, label, what, v string, allowed string) error {
	return fmt.Errorf("interval: %s %q: %s %q is not %s", method, label, what, v, allowed)
}

// cellWire is the image of a table cell: like the Node SDK's table
// serializer, it also copies the size into the deprecated width and height.
func (im *Image) cellWire() *wireImage {
	w := im.wire()
	if w != nil {
		w.Width, w.Height = w.Size, w.Size
	}
	return w
}

// Button themes for Choice.Theme, MenuItem.Theme and links.
const (
	ThemePrimary   = "primary"
	ThemeSecondary = "secondary"
	ThemeDanger    = "danger"
)

// wholeFields decodes an object whose keys must all be present and hold
// whole numbers (a date or time object), in the order of keys.
func wholeFields(raw json.RawMessage, keys ...string) ([]int, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	out := make([]int, len(keys))
	for i, k := range keys {
		var f float64
		v, ok := m[k]
		if !ok || json.Unmarshal(v, &f) != nil || f != math.Trunc(f) || math.Abs(f) > 1e6 {
			return nil, false
		}
		out[i] = int(f)
	}
	return out, true
}

func decodeDate(raw json.RawMessage) (Date, bool) {
	v, ok := wholeFields(raw, "year", "month", "day")
	if !ok {
		return Date{}, false
	}
	d := Date{Year: v[0], Month: v[1], Day: v[2]}
	return d, d.valid()
}

func decodeTimeOfDay(raw json.RawMessage) (TimeOfDay, bool) {
	v, ok := wholeFields(raw, "hour", "minute")
	if !ok {
		return TimeOfDay{}, false
	}
	t := TimeOfDay{Hour: v[0], Minute: v[1]}
	return t, t.valid()
}

func decodeDateTime(raw json.RawMessage) (DateTime, bool) {
	d, ok := decodeDate(raw)
	if !ok {
		return DateTime{}, false
	}
	t, ok := decodeTimeOfDay(raw)
	return DateTime{d, t}, ok
}

// decodeJSON decodes raw into v, reporting msg on failure.
func decodeJSON[T any](raw json.RawMessage, msg string) (T, string) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, msg
	}
	return v, ""
}
