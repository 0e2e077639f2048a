package main

import (
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
)

// The config's defaults of the bounds are the packages' own (config may
// not import them, so it keeps copies): a config that sets none gets what
// a gateway built without them would do.
func TestConfigDefaultsAreThePackagesDefaults(t *testing.T) {
	cfg, err := config.Load(writeConfigText(t, "version: 1\nworkspaces: {w: {upstreams: []}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key       string
		got, want any
	}{
		{"http.max_request_bytes", cfg.HTTP.MaxRequestBytes, int64(gateway.DefaultMaxRequestBytes)},
		{"http.body_timeout", time.Duration(cfg.HTTP.BodyTimeout), gateway.DefaultBodyTimeout},
		{"http.max_sessions", cfg.HTTP.MaxSessions, gateway.DefaultMaxSessions},
		{"http.session_idle_timeout", time.Duration(cfg.HTTP.SessionIdleTimeout), gateway.DefaultSessionIdleTimeout},
		{"http.session_queue", cfg.HTTP.SessionQueue, gateway.DefaultSessionQueue},
		{"stdio.max_request_bytes", cfg.Stdio.MaxRequestBytes, int64(gateway.DefaultMaxStdioRequestBytes)},
		{"limits.max_calls_in_flight", cfg.Limits.MaxCallsInFlight, gateway.DefaultMaxCallsInFlight},
		{"approval.max_pending_per_user", cfg.Approval.MaxPendingPerUser, enforce.DefaultMaxPendingPerUser},
		{"approval.timeout", time.Duration(cfg.Approval.Timeout), enforce.DefaultApprovalTimeout},
		{"approval.lifetime", time.Duration(cfg.Approval.Lifetime), enforce.DefaultApprovalLifetime},
	} {
		if c.got != c.want {
			t.Errorf("%s defaults to %v in the config, %v in the package", c.key, c.got, c.want)
		}
	}
}
