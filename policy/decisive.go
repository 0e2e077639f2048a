package policy

import (
	"slices"
	"strings"
)

// DecisiveKey reports whether an argument named key says what a call acts
// on — a path, an address, a command, a query, a recipient — rather than
// what it carries: the approval question lists such fields first, and the
// judge's prompt shows them in full before the others.
func DecisiveKey(key string) bool {
	k := strings.ToLower(key)
	return slices.ContainsFunc(decisiveWords, func(w string) bool { return strings.Contains(k, w) }) ||
		slices.Contains(decisiveNames, k)
}

// decisiveWords are the parts of argument names that say what a call acts
// on, and decisiveNames the whole names that do.
var (
	decisiveWords = []string{"path", "file", "dir", "url", "uri", "host", "domain", "command", "cmd", "script", "sql", "query", "statement", "target", "dest", "source", "src", "name", "recipient", "email", "address", "endpoint", "exec", "code"}
	decisiveNames = []string{"to", "cc", "bcc", "args", "argv", "q"}
)
