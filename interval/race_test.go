//go:build race

package interval_test

func init() { raceBuild = true }
