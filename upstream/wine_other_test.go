//go:build !windows

package upstream_test

// underWine reports whether the test runs under Wine: never off Windows.
func underWine() bool { return false }
