//go:build race

package detect_test

// raceEnabled reports whether the tests run with the race detector, which
// makes the references' regular expressions twenty times slower.
const raceEnabled = true
