package gateway

// SetStdioFastPath switches the stdio fast path on or off for the calls
// that follow.
func SetStdioFastPath(on bool) { stdioFastPath.Store(on) }

// FastServed is how many calls the stdio fast path has taken.
func FastServed() int64 { return fastServed.Load() }

// SetFastMaxCalls sets the fast path's bound on running calls for the
// stdio sessions served from now on, and returns a function restoring it.
func SetFastMaxCalls(n int) (restore func()) {
	old := fastMaxCalls
	fastMaxCalls = n
	return func() { fastMaxCalls = old }
}
