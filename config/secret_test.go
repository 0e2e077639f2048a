package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
)

// A key pasted where a name or an address belongs is not printed back by
// check: an api_key_env that is not a name is not shown at all, and a
// secret in any other value is masked (issue 14, item 13).
func TestErrorsDoNotPrintSecrets(t *testing.T) {
	const key = "sk-proj-AbCdEf0123456789GhIjKlMnOpQrStUvWx"
	const token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	path := filepath.Join(testdir.New(t), "gatehouse.yaml")
	doc := "version: 1\nlisten: " + token + "\njudge:\n  provider: openai\n  model: m\n  api_key_env: " + key + "\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := load(path, func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("load accepted a key as api_key_env")
	}
	msg := err.Error()
	if strings.Contains(msg, key) || strings.Contains(msg, token) {
		t.Errorf("the errors print a secret:\n%s", msg)
	}
	if !strings.Contains(msg, "judge.api_key_env: must be the NAME") || !strings.Contains(msg, "listen: \"[REDACTED]\"") {
		t.Errorf("the errors do not say which fields are wrong:\n%s", msg)
	}
}
