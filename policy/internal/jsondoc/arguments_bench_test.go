package jsondoc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy/internal/jsondoc"
)

// realisticArguments are arguments as an agent sends them, about size
// bytes: a query with parameters, nested options, and files whose contents
// are strings with escapes.
func realisticArguments(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"query":"SELECT id, name, email FROM users WHERE created_at > $1 AND status = $2 ORDER BY id LIMIT 100",`)
	b.WriteString(`"params":["2024-01-01T00:00:00Z","active",42],`)
	b.WriteString(`"options":{"timeout_ms":5000,"retries":3,"ratio":0.75,"dry_run":false,"tags":["prod","eu-west-1"],"cursor":null},`)
	b.WriteString(`"files":[`)
	for i := 0; b.Len() < size-330; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"path":"src/pkg/module_%d/handler.go","mode":420,"size":%d,`+
			`"content":"package module\n\nfunc Handle%d(ctx context.Context) error {\n\treturn fmt.Errorf(\"not \\\"implemented\\\" yet: %%w\", errNotFound)\n}\n"}`,
			i, 1000+i*37, i)
	}
	b.WriteString(`],"meta":{"client":"claude-ai","request_id":"req_01HZX3","user":"ann@example.com",`)
	b.WriteString(`"trace":{"span":"a1b2c3d4","sampled":true,"attributes":{"service.name":"gatehouse","retry":0}}}}`)
	return b.Bytes()
}

func BenchmarkParseArguments(b *testing.B) {
	raw := realisticArguments(4096)
	small := []byte(`{"path":"/etc/hosts","recursive":false}`)
	b.Run("4KB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			a, err := jsondoc.Parse(raw)
			if err != nil {
				b.Fatal(err)
			}
			_ = a.Leaves()
			_ = a.Canonical()
		}
	})
	b.Run("parse-only-4KB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := jsondoc.Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The reference: encoding/json reading the same arguments, no more.
	b.Run("encoding-json-4KB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			var v map[string]any
			if err := json.Unmarshal(raw, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("small", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a, err := jsondoc.Parse(small)
			if err != nil {
				b.Fatal(err)
			}
			_ = a.Leaves()
			_ = a.Canonical()
		}
	})
}

func BenchmarkField(b *testing.B) {
	a, err := jsondoc.Parse(realisticArguments(4096))
	if err != nil {
		b.Fatal(err)
	}
	a.Leaves()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := a.Field("meta.trace.span"); !ok {
			b.Fatal("no meta.trace.span")
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	a, err := jsondoc.Parse(realisticArguments(4096))
	if err != nil {
		b.Fatal(err)
	}
	var spans []jsondoc.Span
	for i, l := range a.Leaves() {
		if l.Text == "ann@example.com" {
			spans = append(spans, jsondoc.Span{Leaf: i, Start: 0, End: len(l.Text)})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Redact(spans); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"ascii", "SELECT id, name, email FROM users WHERE status = 'active'"},
		{"unicode-normal", "Grüße aus Köln — schönes Wetter heute"},
		{"unicode-changed", "ｓｅｌｅｃｔ * ｆｒｏｍ users\u200b"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = jsondoc.Normalize(c.s)
			}
		})
	}
}
