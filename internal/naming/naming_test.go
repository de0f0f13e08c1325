package naming

import "testing"

// The cases of the Interval server's own slugToName tests, the forms this
// project used to name three other ways (the server's "Refund User", the
// form's "User ID"), and the edges.
func TestHumanize(t *testing.T) {
	tests := map[string]string{
		// Interval's slugToName cases.
		"CamelCase":             "Camel case",
		"camelCase":             "Camel case",
		"snake_case":            "Snake case",
		"SCREAMING_SNAKE_CASE":  "Screaming snake case",
		"kebab-case":            "Kebab case",
		"Camel-Kebab-Case":      "Camel kebab case",
		"__dunder__separated__": "Dunder separated",
		"period.separated":      "Period separated",
		"Period.Separated":      "Period separated",
		"CamelWithSomeALLCaps":  "Camel with some all caps",
		"CamelWithADoubleUpper": "Camel with a double upper",
		// Slugs and Go field names.
		"refund_user":        "Refund user",
		"refundUser":         "Refund user",
		"billing/refundUser": "Refund user",
		"a/b/my_page":        "My page",
		"parseURLQuery":      "Parse url query",
		"APIKeys":            "Api keys",
		"FirstName":          "First name",
		"UserID":             "User id",
		"ID":                 "Id",
		"HELLO_WORLD":        "Hello world",
		"v2_export":          "V2 export",
		"Already Nice":       "Already nice",
		// Edges: a trailing run of capitals stays whole.
		"parseURL":  "Parse url",
		"URL2":      "Url2",
		"x":         "X",
		"__":        "",
		"":          "",
		"a/":        "",
		"élanVital": "Élan vital",
	}
	for in, want := range tests {
		if got := Humanize(in); got != want {
			t.Errorf("Humanize(%q) = %q, want %q", in, got, want)
		}
	}
}
