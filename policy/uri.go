package policy

import (
	"encoding/json"
	"net/url"
	"path"
	"strings"
)

// CanonicalURI is the form of a resource URI that resources: globs are
// matched against: scheme and host in lower case, file://localhost/ as
// file:///, the path percent-decoded with repeated slashes and dot
// segments resolved, as a server reading it would. A policy scoped to
// file:///etc/* therefore also holds for file:///tmp/../etc/passwd,
// file:////etc/passwd and file:///%65tc/passwd. A URI that does not parse,
// or has no authority (mailto:x), is returned as it is.
func CanonicalURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return uri
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if scheme == "file" && host == "localhost" {
		host = ""
	}
	var b strings.Builder
	b.WriteString(scheme + "://")
	if u.User != nil {
		b.WriteString(u.User.String() + "@")
	}
	b.WriteString(host)
	if p := u.Path; p != "" {
		clean := path.Clean("/" + p)
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		b.WriteString(clean)
	}
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?" + u.RawQuery)
	}
	if u.Fragment != "" {
		b.WriteString("#" + u.Fragment)
	}
	return b.String()
}

// ResourceArguments are the arguments of a request about the resource at
// uri, as the engine reads them: {"uri": URI}, plus "resolved_uri", the URI
// as a server reads it (CanonicalURI), when that is spelled otherwise, so
// that the detectors also see the path that %2e%2e or %65tc hide.
func ResourceArguments(uri string) json.RawMessage {
	args := struct {
		URI      string `json:"uri"`
		Resolved string `json:"resolved_uri,omitempty"`
	}{URI: uri}
	if c := CanonicalURI(uri); c != uri {
		args.Resolved = c
	}
	raw, _ := json.Marshal(args) // two strings: always encode
	return raw
}
