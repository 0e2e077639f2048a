//go:build unix && race

package e2e_test

// raceEnabled is true when the tests run with -race; the gateway is then
// built with -race as well.
const raceEnabled = true
