//go:build !unix

package main

import "os"

// reloadSignals are the signals that reload the config: none off Unix
// (Windows has no SIGHUP). There a change to the config's files reloads it
// (reload: watch, the default), and a restart applies it in any mode.
func reloadSignals() []os.Signal { return nil }
