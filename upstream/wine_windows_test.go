package upstream_test

import "golang.org/x/sys/windows"

// underWine reports whether the test runs under Wine, whose ntdll.dll
// exports wine_get_version (Windows' does not).
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
