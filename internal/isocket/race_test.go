//go:build race

package isocket

func init() { raceBuild = true }
