package main

import (
	"os"
	"strings"
	"testing"
)

// runMainEnv, set in a test binary's environment, makes the binary run
// gatehouse with the arguments it holds (separated by newlines) instead of
// its tests: a test that needs the gatehouse process itself, where there is
// no Go toolchain to build it (a Windows test binary under Wine), starts
// its own binary so.
const runMainEnv = "GATEHOUSE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(runMainEnv); ok {
		os.Exit(run(strings.Split(args, "\n")))
	}
	os.Exit(m.Run())
}
