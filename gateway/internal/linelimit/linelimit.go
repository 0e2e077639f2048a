// Package linelimit bounds the lines a stdio client sends. mcp-go's stdio
// server reads a message with bufio.Reader.ReadString, which keeps a whole
// line however long it is: a 200 MB line cost the gateway 2.4 GB. A Reader
// passes on the lines of at most Max bytes and drops a longer one as it
// arrives, holding no more than Max bytes of it, and reports it (TooLong)
// with its first bytes, from which RequestID reads the id to answer.
package linelimit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
)

// HeadBytes is how much of an over-long line TooLong gets: enough for the
// members that come before the parameters of a request.
const HeadBytes = 4 << 10

// Reader reads the lines of an input of at most a number of bytes each
// (besides the newline); a longer line is left out. Read returns the lines
// kept, whole lines at a time as far as p allows.
type Reader struct {
	r       *bufio.Reader
	max     int
	tooLong func(head []byte)

	line []byte // the line being handed out
	off  int    // how much of it has been
	buf  []byte // holds a line longer than r's buffer
	err  error  // of the input, returned once line is handed out
}

// NewReader reads the lines of r of at most max bytes besides their
// newline (max must be positive). For each longer
// line, once it has been read to its end, tooLong is called with its
// first HeadBytes bytes (at most), on the goroutine that called Read.
func NewReader(r io.Reader, max int, tooLong func(head []byte)) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max, tooLong: tooLong}
}

// Read implements io.Reader.
func (l *Reader) Read(p []byte) (int, error) {
	for l.off == len(l.line) {
		if l.err != nil {
			return 0, l.err
		}
		l.line, l.err = l.next()
		l.off = 0
	}
	n := copy(p, l.line[l.off:])
	l.off += n
	return n, nil
}

// next reads the next line kept, with the input's error if it ended there.
func (l *Reader) next() ([]byte, error) {
	if cap(l.buf) > 64<<10 {
		l.buf = nil // a long line's buffer is not kept for the short ones
	}
	l.buf = l.buf[:0]
	for {
		frag, err := l.r.ReadSlice('\n')
		n := len(l.buf) + len(frag) // of the line so far
		if len(frag) > 0 && frag[len(frag)-1] == '\n' {
			n-- // the newline is not counted
		}
		if len(l.buf) == 0 && err != bufio.ErrBufferFull && n <= l.max {
			return frag, err // the common case: a line within r's buffer
		}
		if n > l.max {
			err = l.drop(frag, err)
			if err != nil {
				return nil, err
			}
			l.buf = l.buf[:0]
			continue
		}
		l.buf = append(l.buf, frag...)
		if err != bufio.ErrBufferFull {
			return l.buf, err
		}
	}
}

// drop reads the rest of an over-long line, of which buf and frag are
// read, keeping only its head, and reports it.
func (l *Reader) drop(frag []byte, err error) error {
	head := make([]byte, 0, HeadBytes)
	head = append(head, l.buf[:min(len(l.buf), HeadBytes)]...)
	head = append(head, frag[:min(len(frag), HeadBytes-len(head))]...)
	for err == bufio.ErrBufferFull {
		_, err = l.r.ReadSlice('\n')
	}
	l.tooLong(head)
	return err
}

// RequestID is the id of the request whose line starts with head, if the
// head shows one: a string or number "id" among the top-level members it
// holds whole, beside a "method" (a request, not a response). Otherwise
// it is nil, and the answer's id is null, as JSON-RPC says for a request
// whose id cannot be read.
func RequestID(head []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(head))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var id json.RawMessage
	method := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			break // cut off in this member
		}
		switch key {
		case "id":
			id = v
		case "method":
			method = true
		case "result", "error":
			return nil // a response: it has no answer
		}
	}
	if !method || len(id) == 0 || (id[0] != '"' && id[0] != '-' && (id[0] < '0' || id[0] > '9')) {
		return nil
	}
	return id
}
