package onboard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// EntryName is the name install registers Gatehouse under.
const EntryName = "gatehouse"

// Entry is the client's registration of Gatehouse: a stdio server.
type Entry struct {
	Command string
	Args    []string
	// Env is NAME, VALUE pairs in order.
	Env [][2]string
}

// BackupPath is where install keeps what it replaced: a file next to
// the client's.
func BackupPath(clientFile string) string { return clientFile + ".gatehouse-backup.json" }

// Backup is the backup file: the client file exactly as it was before
// install, and a digest of what install wrote.
type Backup struct {
	Comment string `json:"comment"`
	Client  string `json:"client"`
	File    string `json:"file"`
	// Original is the file's bytes before install.
	Original string `json:"original"`
	// Keys lead to the server object replaced.
	Keys []string `json:"keys"`
	// Servers are the servers install replaced, for reading.
	Servers json.RawMessage `json:"servers,omitempty"`
	// Installed is the SHA-256 of the file install wrote.
	Installed string `json:"installed_sha256"`
	// Mode is the file's permissions before install, in octal ("" if
	// unknown): install makes a file it puts secrets in owner-only.
	Mode string `json:"mode,omitempty"`
}

// ReadBackup decodes a backup file.
func ReadBackup(data []byte) (*Backup, error) {
	var b Backup
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("read the backup: %w", err)
	}
	return &b, nil
}

// FileMode is the file's permissions before install; ok is false when
// unknown.
func (b *Backup) FileMode() (mode os.FileMode, ok bool) {
	m, err := strconv.ParseUint(b.Mode, 8, 32)
	if err != nil || b.Mode == "" {
		return 0, false
	}
	return os.FileMode(m).Perm(), true
}

// Result is what Install would write.
type Result struct {
	// Data is the client file's new bytes; Changed is false when they
	// are the file's own (already installed).
	Data    []byte
	Changed bool
	// Backup is the backup file's new bytes, nil when it is not
	// written (it exists already).
	Backup []byte
	// Replaced names the servers moved into the backup; Kept those left
	// next to Gatehouse (added since an earlier install).
	Replaced, Kept []string
}

// Install computes the client file registering only e, given the
// existing backup (nil if none). With no backup every server is
// replaced and a backup made; with one, install was done before: the
// gatehouse entry is updated and other servers are left (and reported).
func Install(f *File, e Entry, backup []byte) (*Result, error) {
	obj := renderObject(f, e)
	r := &Result{}
	if backup != nil {
		var b Backup
		if err := json.Unmarshal(backup, &b); err != nil {
			return nil, fmt.Errorf("%s: %w", BackupPath(f.Path), err)
		}
		if b.Keys != nil && !slices.Equal(b.Keys, f.path) {
			return nil, fmt.Errorf("%s: installed before for %s (backup %s): uninstall first", f.Path, strings.Join(b.Keys, "."), BackupPath(f.Path))
		}
		if !f.ok {
			return nil, fmt.Errorf("%s: installed before (backup %s) but has no %s now: remove the backup to install afresh", f.Path, BackupPath(f.Path), strings.Join(f.path, "."))
		}
		ms, err := members(f.b, f.servers)
		if err != nil {
			return nil, err
		}
		var cur *member
		for i := range ms {
			if ms[i].Key == EntryName {
				cur = &ms[i]
			} else {
				r.Kept = append(r.Kept, ms[i].Key)
			}
		}
		if cur == nil {
			return nil, fmt.Errorf("%s: installed before (backup %s) but has no %q server now: run uninstall, or remove the backup to install afresh", f.Path, BackupPath(f.Path), EntryName)
		}
		entry := renderEntry(f, e, indentAt(f.Data, cur.Span.KeyStart))
		if sameJSON(f.b[cur.Span.Start:cur.Span.End], []byte(entry)) {
			r.Data = f.Data
			return r, nil
		}
		r.Data = splice(f.Data, cur.Span.Start, cur.Span.End, entry)
		r.Changed = true
		return r, nil
	}
	if !utf8.Valid(f.Data) {
		return nil, fmt.Errorf("%s: not UTF-8", f.Path)
	}
	b := Backup{
		Comment:  "Written by gatehouse install: `gatehouse uninstall " + f.Client.Name + "` puts back \"original\" into \"file\".",
		Client:   f.Client.Name,
		File:     f.Path,
		Keys:     f.path,
		Original: string(f.Data),
	}
	if f.Mode != 0 {
		b.Mode = fmt.Sprintf("%#o", f.Mode)
	}
	if f.ok {
		ms, err := members(f.b, f.servers)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			r.Replaced = append(r.Replaced, m.Key)
		}
		if json.Valid(f.b[f.servers.Start:f.servers.End]) {
			var buf bytes.Buffer
			if json.Compact(&buf, f.b[f.servers.Start:f.servers.End]) == nil {
				b.Servers = buf.Bytes()
			}
		}
		r.Data = splice(f.Data, f.servers.Start, f.servers.End, obj)
	} else {
		if len(f.path) > 2 {
			return nil, fmt.Errorf("%s: no %s to replace", f.Path, strings.Join(f.path, "."))
		}
		r.Data = insertKey(f, obj)
	}
	r.Changed = true
	sum := sha256.Sum256(r.Data)
	b.Installed = hex.EncodeToString(sum[:])
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, err
	}
	r.Backup = append(out, '\n')
	return r, nil
}

// Uninstall computes the client file as it was before install: the
// backup's original when the file is as install left it, else the file
// with its server object put back as it was (other changes kept) and
// the servers added to it since install kept too (their names in kept).
func Uninstall(f *File, backup []byte) (data []byte, kept []string, err error) {
	var b Backup
	if err := json.Unmarshal(backup, &b); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", BackupPath(f.Path), err)
	}
	sum := sha256.Sum256(f.Data)
	if hex.EncodeToString(sum[:]) == b.Installed {
		return []byte(b.Original), nil, nil
	}
	if b.Keys != nil && !slices.Equal(b.Keys, f.path) {
		if f, err = ParseFileAt(f.Client, f.Path, f.Data, b.Keys); err != nil {
			return nil, nil, err
		}
	}
	orig, err := ParseFileAt(f.Client, f.Path, []byte(b.Original), b.Keys)
	if err != nil {
		return nil, nil, fmt.Errorf("the backup's original: %w", err)
	}
	if !orig.ok || !f.ok {
		return nil, nil, fmt.Errorf("%s changed since install and its %s cannot be put back automatically: the original is in %s", f.Path, strings.Join(f.path, "."), BackupPath(f.Path))
	}
	cur, err := members(f.b, f.servers)
	if err != nil {
		return nil, nil, err
	}
	was, err := members(orig.b, orig.servers)
	if err != nil {
		return nil, nil, err
	}
	obj := string(orig.Data[orig.servers.Start:orig.servers.End])
	var add []string
	for _, m := range cur {
		if m.Key == EntryName || slices.ContainsFunc(was, func(w member) bool { return w.Key == m.Key }) {
			continue
		}
		kept = append(kept, m.Key)
		add = append(add, jsonString(m.Key)+": "+string(f.Data[m.Span.Start:m.Span.End]))
	}
	if len(add) > 0 {
		oneLine := !strings.Contains(obj, "\n")
		if len(was) == 0 {
			base := indentAt(orig.Data, orig.servers.KeyStart)
			inner := base + unit(orig.Data)
			obj = "{\n" + inner + strings.Join(add, ",\n"+inner) + "\n" + base + "}"
			if oneLine {
				obj = "{" + strings.Join(add, ", ") + "}"
			}
		} else {
			last := was[len(was)-1]
			sep := ",\n" + indentAt(orig.Data, last.Span.KeyStart)
			if oneLine {
				sep = ", "
			}
			at := last.Span.End - orig.servers.Start
			obj = obj[:at] + sep + strings.Join(add, sep) + obj[at:]
		}
	}
	return splice(f.Data, f.servers.Start, f.servers.End, obj), kept, nil
}

// renderObject renders the server object holding only e, indented as
// the file is.
func renderObject(f *File, e Entry) string {
	base := ""
	if f.ok {
		base = indentAt(f.Data, f.servers.KeyStart)
	} else {
		base = strings.Repeat(unit(f.Data), len(f.path)-1)
	}
	u := unit(f.Data)
	if !bytes.Contains(f.Data, []byte("\n")) && len(f.Data) > 0 {
		return `{"` + EntryName + `": ` + renderEntry(f, e, "\x00") + "}"
	}
	return "{\n" + base + u + `"` + EntryName + `": ` + renderEntry(f, e, base+u) + "\n" + base + "}"
}

// renderEntry renders e as the client wants it; indent is that of the
// line of its key ("\x00": on one line).
func renderEntry(f *File, e Entry, indent string) string {
	var fields [][2]string
	if f.Client.Name == "vscode" {
		fields = append(fields, [2]string{"type", jsonString("stdio")})
	}
	fields = append(fields, [2]string{"command", jsonString(e.Command)})
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = jsonString(a)
	}
	fields = append(fields, [2]string{"args", "[" + strings.Join(args, ", ") + "]"})
	if len(e.Env) > 0 {
		env := make([]string, len(e.Env))
		for i, kv := range e.Env {
			env[i] = jsonString(kv[0]) + ": " + jsonString(kv[1])
		}
		fields = append(fields, [2]string{"env", "{" + strings.Join(env, ", ") + "}"})
	}
	parts := make([]string, len(fields))
	for i, kv := range fields {
		parts[i] = jsonString(kv[0]) + ": " + kv[1]
	}
	if indent == "\x00" {
		return "{" + strings.Join(parts, ", ") + "}"
	}
	inner := indent + unit(f.Data)
	return "{\n" + inner + strings.Join(parts, ",\n"+inner) + "\n" + indent + "}"
}

// insertKey adds the server object to a file that has none, as the
// first key of its top-level object.
func insertKey(f *File, obj string) []byte {
	top, _, _ := find(f.b)
	ms, _ := members(f.b, top)
	key := f.path[len(f.path)-1]
	if len(f.path) > 1 {
		key = f.path[0]
		obj = "{" + jsonString(f.path[1]) + ": " + obj + "}"
	}
	if len(ms) == 0 {
		nl, u := "\n", unit(f.Data)
		return splice(f.Data, top.Start, top.End, "{"+nl+u+jsonString(key)+": "+obj+nl+"}")
	}
	first := ms[0].Span.KeyStart
	sep := ",\n" + indentAt(f.Data, first)
	if !bytes.Contains(f.Data, []byte("\n")) {
		sep = ", "
	}
	return splice(f.Data, first, first, jsonString(key)+": "+obj+sep)
}

// indentAt is the white space before offset i on its line.
func indentAt(data []byte, i int) string {
	if i < 0 {
		return ""
	}
	start := bytes.LastIndexByte(data[:i], '\n') + 1
	ws := data[start:i]
	if len(bytes.TrimLeft(ws, " \t")) != 0 {
		return ""
	}
	return string(ws)
}

// unit is the file's indentation step: that of its first indented line,
// else two spaces.
func unit(data []byte) string {
	for _, line := range bytes.Split(data, []byte("\n")) {
		t := bytes.TrimLeft(line, " \t")
		if len(t) < len(line) && len(t) > 0 {
			return string(line[:len(line)-len(t)])
		}
	}
	return "  "
}

func splice(data []byte, start, end int, s string) []byte {
	out := make([]byte, 0, len(data)-(end-start)+len(s))
	out = append(out, data[:start]...)
	out = append(out, s...)
	return append(out, data[end:]...)
}

func jsonString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
