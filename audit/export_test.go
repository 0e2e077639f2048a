package audit

import "time"

// SetClock makes a read the time from now.
func SetClock(a *Approvals, now func() time.Time) { a.now = now }
