package policy

import (
	"fmt"
	"slices"
	"time"
)

// contains reports whether t falls in the window.
func (w *TimeWindow) contains(t time.Time) bool {
	loc := w.Location
	if loc == nil {
		loc = time.Local
	}
	t = t.In(loc)
	day := t.Weekday()
	if w.From < 0 {
		return w.onDay(day)
	}
	m := t.Hour()*60 + t.Minute()
	if w.From < w.To {
		return w.onDay(day) && m >= w.From && m < w.To
	}
	// Across midnight: the part before midnight belongs to today, the
	// part after to the day before.
	return (w.onDay(day) && m >= w.From) || (w.onDay((day+6)%7) && m < w.To)
}

// onDay reports whether the window is open on d (every day without Days).
func (w *TimeWindow) onDay(d time.Weekday) bool {
	return len(w.Days) == 0 || slices.Contains(w.Days, d)
}

// String describes the window for explanations.
func (w *TimeWindow) String() string {
	s := "every day"
	if len(w.Days) > 0 {
		s = ""
		for i, d := range w.Days {
			if i > 0 {
				s += ","
			}
			s += d.String()[:3]
		}
	}
	if w.From >= 0 {
		s += fmt.Sprintf(" %02d:%02d-%02d:%02d", w.From/60, w.From%60, w.To/60, w.To%60)
	}
	if w.Location != nil {
		s += " " + w.Location.String()
	}
	return s
}

// ParseClock reads HH:MM (24-hour) as minutes after midnight.
func ParseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("clock %q: want HH:MM, 24-hour", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}
