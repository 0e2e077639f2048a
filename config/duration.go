package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a Go duration ("90s", "2m",
// "1h30m") or with days ("90d", "1d12h").
type Duration time.Duration

// ParseDuration parses a Go duration that may also use the unit d (24h).
func ParseDuration(s string) (Duration, error) {
	if !strings.Contains(s, "d") {
		d, err := time.ParseDuration(s)
		return Duration(d), err
	}
	rest, neg := s, false
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		rest, neg = r, true
	} else {
		rest = strings.TrimPrefix(rest, "+")
	}
	if rest == "" {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	var total time.Duration
	add := func(d time.Duration) bool {
		if d < 0 || total > math.MaxInt64-d {
			return false
		}
		total += d
		return true
	}
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		j := strings.IndexFunc(rest[i:], func(r rune) bool { return (r >= '0' && r <= '9') || r == '.' })
		if j < 0 {
			j = len(rest) - i
		}
		num, unit := rest[:i], rest[i:i+j]
		rest = rest[i+j:]
		if unit == "d" {
			days, err := strconv.ParseFloat(num, 64)
			if err != nil || days*float64(24*time.Hour) >= math.MaxInt64 || !add(time.Duration(days*float64(24*time.Hour))) {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			continue
		}
		d, err := time.ParseDuration(num + unit)
		if err != nil || !add(d) {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

// String formats d as whole days ("90d") when it is a multiple of a day,
// as a Go duration otherwise. ParseDuration reads it back.
func (d Duration) String() string {
	const day = 24 * time.Hour
	if td := time.Duration(d); td != 0 && td%day == 0 {
		return strconv.FormatInt(int64(td/day), 10) + "d"
	}
	return time.Duration(d).String()
}

// MarshalText writes d as String does, so d is a scalar in YAML and JSON.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads what ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
