package gateway

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The bound holds per session; a session at it is logged once, and again
// only once it has come down to half the bound and reached it anew; the
// log names the session by a tag, never by its id.
func TestInflightBoundPerSession(t *testing.T) {
	var buf bytes.Buffer
	c := newInflight(4, slog.New(slog.NewTextHandler(&buf, nil)))
	warnings := func() int { return strings.Count(buf.String(), "level=WARN") }
	const id = "mcp-session-6f1d0c1e-secret"

	var dones []func()
	for i := range 4 {
		done, ok := c.begin(id)
		if !ok {
			t.Fatalf("begin %d of 4 = refused; want counted", i+1)
		}
		dones = append(dones, done)
	}
	for range 3 {
		if _, ok := c.begin(id); ok {
			t.Fatal("begin beyond the bound = counted; want refused")
		}
	}
	if _, ok := c.begin("another session"); !ok {
		t.Error("another session's first call = refused; want counted")
	}
	if n := warnings(); n != 1 {
		t.Errorf("%d warnings after three refusals; want 1", n)
	}
	if strings.Contains(buf.String(), id) {
		t.Errorf("the log gives the session's id away: %s", buf.String())
	}

	// One call ends, twice over: one place frees, and is taken again.
	dones[0]()
	dones[0]()
	if _, ok := c.begin(id); !ok {
		t.Fatal("begin after a call ended = refused; want counted")
	}
	if _, ok := c.begin(id); ok {
		t.Fatal("begin with the bound reached again = counted; want refused")
	}
	if n := warnings(); n != 1 {
		t.Errorf("%d warnings while the session hovers at the bound; want 1", n)
	}

	// Down to half the bound, then up to it again: logged anew.
	dones[1]()
	dones[2]()
	for range 2 {
		if _, ok := c.begin(id); !ok {
			t.Fatal("begin under the bound = refused; want counted")
		}
	}
	if _, ok := c.begin(id); ok {
		t.Fatal("begin at the bound = counted; want refused")
	}
	if n := warnings(); n != 2 {
		t.Errorf("%d warnings after a second crossing; want 2", n)
	}
	msg, _ := c.refusal()
	if !strings.Contains(msg, "limits.max_calls_in_flight") || !strings.Contains(msg, "4 calls") {
		t.Errorf("refusal() = %q; want the limit and its key named", msg)
	}
}
