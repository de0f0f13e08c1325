package interval

// Temporary declarations, replaced as the package grows.

type IO struct{}
type Params map[string]any
type Loading struct{}
type txState struct{}
type Page struct {
	User User
	Params Params
}
type Layout struct{}
