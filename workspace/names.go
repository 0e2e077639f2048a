package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Separator joins an upstream's name and its tool or prompt name in an
// exposed name: fs__read_file.
const Separator = "__"

// MaxNameLen is the longest exposed name. Clients such as Claude Desktop
// reject tool names outside ^[a-zA-Z0-9_-]{1,64}$.
const MaxNameLen = 64

// ExposedName is the name a client sees for an upstream's tool or prompt:
// upstream__name when prefix is true, name otherwise, with every character
// outside [a-zA-Z0-9_-] replaced by '_'. A name longer than MaxNameLen is
// shortened deterministically: its head is kept and a hash of the whole
// name appended, so that the same inputs always give the same name and two
// long names that share a head still differ.
func ExposedName(upstream, name string, prefix bool) string {
	full := name
	if prefix {
		full = upstream + Separator + name
	}
	var b strings.Builder
	for _, r := range full {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" {
		s = "_"
	}
	if len(s) <= MaxNameLen {
		return s
	}
	sum := sha256.Sum256([]byte(full))
	tag := hex.EncodeToString(sum[:])[:8]
	return s[:MaxNameLen-len(tag)-1] + "_" + tag
}
