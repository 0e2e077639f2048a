package onboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Client config files are JSON, and VS Code's are JSONC (comments and
// trailing commas). They are read through a copy of the bytes with every
// comment and trailing comma blanked out, byte for byte, so that offsets
// in the copy are offsets in the file: install replaces the span of one
// value and leaves every other byte as it was.

// blank returns data with comments and trailing commas replaced by
// spaces (newlines kept), so that encoding/json reads it and offsets are
// unchanged.
func blank(data []byte) []byte {
	out := bytes.Clone(data)
	if bytes.HasPrefix(out, []byte("\xef\xbb\xbf")) { // a byte order mark, as Notepad writes
		copy(out, "   ")
	}
	lastComma := -1 // offset of a comma not yet followed by a value
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case c == '"':
			lastComma = -1
			i++
			for i < len(out) && out[i] != '"' {
				if out[i] == '\\' {
					i++
				}
				i++
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			for i < len(out) && out[i] != '\n' {
				out[i] = ' '
				i++
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			out[i], out[i+1] = ' ', ' '
			i += 2
			for i < len(out) && !(out[i] == '*' && i+1 < len(out) && out[i+1] == '/') {
				if out[i] != '\n' && out[i] != '\r' {
					out[i] = ' '
				}
				i++
			}
			if i+1 < len(out) {
				out[i], out[i+1] = ' ', ' '
				i++
			}
		case c == ',':
			lastComma = i
		case c == '}' || c == ']':
			if lastComma >= 0 {
				out[lastComma] = ' '
			}
			lastComma = -1
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			lastComma = -1
		}
	}
	return out
}

// span is the byte range [Start, End) of a value in a file; KeyStart is
// where its key's opening quote is (-1 for the top-level value).
type span struct {
	KeyStart, Start, End int
}

// scanner walks blanked JSON to find where values are.
type scanner struct {
	b []byte
	i int
}

var errSyntax = errors.New("not valid JSON")

func (s *scanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// str skips a string and returns its raw body.
func (s *scanner) str() ([]byte, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, errSyntax
	}
	start := s.i
	s.i++
	for s.i < len(s.b) && s.b[s.i] != '"' {
		if s.b[s.i] == '\\' {
			s.i++
		}
		s.i++
	}
	if s.i >= len(s.b) {
		return nil, errSyntax
	}
	s.i++
	return s.b[start:s.i], nil
}

// value skips one value.
func (s *scanner) value() error {
	s.ws()
	if s.i >= len(s.b) {
		return errSyntax
	}
	switch s.b[s.i] {
	case '"':
		_, err := s.str()
		return err
	case '{', '[':
		open := s.b[s.i]
		s.i++
		for {
			s.ws()
			if s.i < len(s.b) && (s.b[s.i] == '}' || s.b[s.i] == ']') {
				s.i++
				return nil
			}
			if open == '{' {
				if _, err := s.str(); err != nil {
					return err
				}
				s.ws()
				if s.i >= len(s.b) || s.b[s.i] != ':' {
					return errSyntax
				}
				s.i++
			}
			if err := s.value(); err != nil {
				return err
			}
			s.ws()
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
			}
		}
	default:
		for s.i < len(s.b) && !bytes.ContainsAny(s.b[s.i:s.i+1], " \t\r\n,]}") {
			s.i++
		}
		return nil
	}
}

// find returns the span of the value at path (object keys) in blanked
// JSON; ok is false when a key is missing or a value on the way is not
// an object.
func find(b []byte, path ...string) (sp span, ok bool, err error) {
	s := &scanner{b: b}
	s.ws()
	sp = span{KeyStart: -1, Start: s.i}
	if err := s.value(); err != nil {
		return span{}, false, fmt.Errorf("offset %d: %w", s.i, err)
	}
	sp.End = s.i
	for _, key := range path {
		s.i = sp.Start
		if s.b[s.i] != '{' {
			return span{}, false, nil
		}
		s.i++
		found := false
		var next span
		for {
			s.ws()
			if s.b[s.i] == '}' {
				break
			}
			keyStart := s.i
			raw, err := s.str()
			if err != nil {
				return span{}, false, err
			}
			s.ws()
			s.i++ // ':'
			s.ws()
			start := s.i
			if err := s.value(); err != nil {
				return span{}, false, err
			}
			if unquote(raw) == key {
				if found {
					// Clients read the last, a reader of the first would
					// rewrite what the client does not use.
					return span{}, false, fmt.Errorf("the key %q is there twice: remove one", key)
				}
				next, found = span{KeyStart: keyStart, Start: start, End: s.i}, true
			}
			s.ws()
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
			}
		}
		if !found {
			return span{}, false, nil
		}
		sp = next
	}
	return sp, true, nil
}

// member is one key of an object and the span of its value.
type member struct {
	Key  string
	Span span
}

// members lists the keys of the object at sp, in file order.
func members(b []byte, sp span) ([]member, error) {
	s := &scanner{b: b, i: sp.Start}
	if s.i >= len(b) || b[s.i] != '{' {
		return nil, errors.New("not a JSON object")
	}
	s.i++
	var out []member
	for {
		s.ws()
		if s.i >= len(b) {
			return nil, errSyntax
		}
		if b[s.i] == '}' {
			return out, nil
		}
		keyStart := s.i
		raw, err := s.str()
		if err != nil {
			return nil, err
		}
		s.ws()
		if s.i >= len(b) || b[s.i] != ':' {
			return nil, errSyntax
		}
		s.i++
		s.ws()
		start := s.i
		if err := s.value(); err != nil {
			return nil, err
		}
		out = append(out, member{Key: unquote(raw), Span: span{KeyStart: keyStart, Start: start, End: s.i}})
		s.ws()
		if s.i < len(b) && b[s.i] == ',' {
			s.i++
		}
	}
}

// unquote decodes a raw JSON string, or returns it as written if it is
// not one.
func unquote(raw []byte) string {
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	return v
}
