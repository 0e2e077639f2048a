package llmjudge_test

import (
	"os"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/llmjudge"
)

func readDataset(t *testing.T) []llmjudge.Case {
	t.Helper()
	f, err := os.Open("testdata/judge-eval.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := llmjudge.ReadCases(f)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}
