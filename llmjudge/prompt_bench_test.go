package llmjudge

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// BenchmarkBuildPrompt measures the prompt of a call with a wide object
// and one long value, as large as a request body may be.
func BenchmarkBuildPrompt(b *testing.B) {
	obj := map[string]string{}
	for i := range 50_000 {
		obj[fmt.Sprintf("k%05d\u200b", i)] = fmt.Sprintf("https://h%d.example.com/p\U000E0041", i)
	}
	obj["sql"] = strings.Repeat("SELECT 1; ", 200_000)
	args, _ := json.Marshal(obj)
	req := policy.JudgeRequest{Call: policy.Call{Tool: "t", Arguments: args}, Policies: []policy.JudgedPolicy{{ID: "p"}}}
	opts := promptOptions{maxArgs: DefaultMaxArgumentBytes, internal: newDomainSet([]string{"*.example.com"})}
	b.SetBytes(int64(len(args)))
	for b.Loop() {
		if _, err := buildPrompt(req, opts); err != nil {
			b.Fatal(err)
		}
	}
}
