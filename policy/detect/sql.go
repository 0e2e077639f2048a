package detect

import (
	"slices"
	"strings"
)

// The sql_destructive detector: DROP, TRUNCATE, DELETE and UPDATE without
// WHERE, ALTER … DROP and GRANT ALL, at the start of a statement.
//
// Rules that decide the hard cases:
// A keyword counts only at the start of a statement (start of text or line,
// after ; ( ) or a quote, or after BEGIN, THEN, ELSE, DO) and followed by
// white space or a comment; comments may sit between keywords
// (DROP/**/TABLE); a statement ends at the next ; outside quotes. DELETE
// FROM and UPDATE … SET need a table name and, without TABLE, TRUNCATE a
// name that ends the statement, so that prose ("delete from the list the
// items …") does not count.

// sqlTriggers are the keywords that start the sql_destructive matcher.
var sqlTriggers = slices.Concat(
	folded(setSQL, actSQL, "drop", "truncate", "delete", "update", "alter", "grant"),
)

// sqlStatement remembers the last statement scanned for its end and its
// last WHERE, so that keywords inside one statement share one scan.
type sqlStatement struct {
	from, end int
	lastWhere int // -1 when the statement has none
	lastDrop  int // the last DROP keyword, or -1
}

// statement scans the statement that runs through p up to its end (the
// next ; outside quotes, or the end of the text), noting its last WHERE
// and its last DROP.
func (s *scanner) statement(p int) *sqlStatement {
	st := &s.sql
	if st.end > 0 && p >= st.from && p < st.end {
		return st
	}
	t := s.text
	st.from, st.lastWhere, st.lastDrop = p, -1, -1
	var q byte
	i := p
	for ; i < len(t); i++ {
		c := t[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '\'' || c == '"' || c == '`':
			q = c
		case c == ';':
			st.end = i
			return st
		case (c|0x20 == 'w' || c|0x20 == 'd') && (i == 0 || !isIdent(t[i-1])):
			if hasPrefixFold(t[i:], "where") && wordEnds(t, i+5) && !tautology(t, i+5) {
				st.lastWhere = i
			} else if hasPrefixFold(t[i:], "drop") && wordEnds(t, i+4) {
				st.lastDrop = i
			}
		}
	}
	st.end = len(t)
	return st
}

// tautology reports whether the WHERE clause at p is 1=1 or TRUE.
func tautology(t string, p int) bool {
	p = sqlSkip(t, p)
	if hasPrefixFold(t[p:], "true") && wordEnds(t, p+4) {
		return true
	}
	if !strings.HasPrefix(t[p:], "1") {
		return false
	}
	p = sqlSkip(t, p+1)
	if !strings.HasPrefix(t[p:], "=") {
		return false
	}
	p = sqlSkip(t, p+1)
	return strings.HasPrefix(t[p:], "1") && wordEnds(t, p+1)
}

// sqlSkip skips white space and comments (/* … */, -- …). A comment that
// does not end within 4096 bytes runs to the end of the text.
func sqlSkip(t string, p int) int {
	for p < len(t) {
		switch {
		case isSpace(t[p]):
			p++
		case strings.HasPrefix(t[p:], "/*"):
			k := strings.Index(t[p+2:min(len(t), p+4096)], "*/")
			if k < 0 {
				return len(t)
			}
			p += 2 + k + 2
		case strings.HasPrefix(t[p:], "--"):
			k := strings.IndexByte(t[p:min(len(t), p+4096)], '\n')
			if k < 0 {
				return len(t)
			}
			p += k + 1
		default:
			return p
		}
	}
	return p
}

// sqlWord returns the end of the SQL word at p, or p.
func sqlWord(t string, p int) int {
	e := p
	for e < len(t) && (isIdent(t[e]) || t[e] == '$') {
		e++
	}
	return e
}

// sqlKeywordAt reports whether the keyword (lower case) is at p (after
// white space and comments), and returns the offset after it.
func sqlKeywordAt(t string, p int, words ...string) (int, string, bool) {
	p = sqlSkip(t, p)
	e := sqlWord(t, p)
	for _, w := range words {
		if equalFold(t[p:e], w) {
			return e, w, true
		}
	}
	return p, "", false
}

// sqlName returns the end of the (possibly qualified, possibly quoted)
// object name at p, or p.
func sqlName(t string, p int) int {
	p = sqlSkip(t, p)
	for {
		var e int
		switch {
		case p < len(t) && (t[p] == '"' || t[p] == '`' || t[p] == '['):
			close := t[p]
			if close == '[' {
				close = ']'
			}
			k := run(t, p+1, clsAlnum|clsUnder|clsDash, 128)
			if k == p+1 || k >= len(t) || t[k] != close {
				return p
			}
			e = k + 1
		default:
			e = sqlWord(t, p)
			if e == p {
				return p
			}
		}
		if e < len(t) && t[e] == '.' && e+1 < len(t) && (isIdent(t[e+1]) || t[e+1] == '"' || t[e+1] == '`' || t[e+1] == '[') {
			p = e + 1
			continue
		}
		return e
	}
}

// statementStart reports whether the keyword at w begins a statement.
func statementStart(t string, w int) bool {
	j := w
	for j > 0 {
		if isBlank(t[j-1]) {
			j--
			continue
		}
		if j >= 2 && t[j-2:j] == "*/" {
			lo := max(0, j-2-256)
			k := strings.LastIndex(t[lo:j-2], "/*")
			if k < 0 {
				return false
			}
			j = lo + k
			continue
		}
		break
	}
	if j == 0 {
		return true
	}
	switch t[j-1] {
	case '\n', '\r', ';', '(', ')', '"', '\'', '`':
		return true
	}
	k := j
	for k > 0 && j-k < 8 && isLetter(t[k-1]) {
		k--
	}
	return (k == 0 || !isIdent(t[k-1])) && oneOfFold(t[k:j], "begin", "then", "else", "do")
}

// sqlKeyword matches the destructive statements that start with word.
// The grammar after the keyword is checked first; only a statement that
// reads as SQL is scanned to its end.
func (s *scanner) sqlKeyword(w int, word string) {
	t := s.text
	e := w + len(word)
	if e >= len(t) || !(isSpace(t[e]) || strings.HasPrefix(t[e:], "/*") || strings.HasPrefix(t[e:], "--")) ||
		(w > 0 && (isIdent(t[w-1]) || t[w-1] == '.' || t[w-1] == '$')) || !statementStart(t, w) {
		return
	}
	k, ok := sqlGrammar(t, e, word)
	if !ok {
		return
	}
	st := s.statement(w)
	switch {
	case (k == kDeleteWithoutWhere || k == kUpdateWithoutWhere) && st.lastWhere > w:
		return
	case k == kAlterDrop && st.lastDrop <= w:
		return
	}
	end := st.end
	for end > w && isSpace(t[end-1]) {
		end--
	}
	s.add(k, w, end)
}

// sqlGrammar checks what follows the keyword word, which ends at e, and
// returns the kind of finding the statement is if it reads as SQL.
func sqlGrammar(t string, e int, word string) (kind, bool) {
	switch word {
	case "drop":
		return sqlDrop(t, e)
	case "truncate":
		return kTruncate, sqlTruncate(t, e)
	case "delete":
		p, _, ok := sqlKeywordAt(t, e, "from")
		return kDeleteWithoutWhere, ok && sqlTarget(t, p, "where", "using", "returning", "output", "order", "limit", "as")
	case "update":
		return kUpdateWithoutWhere, sqlUpdate(t, e)
	case "alter":
		_, _, ok := sqlKeywordAt(t, e, "table")
		return kAlterDrop, ok
	case "grant":
		p, _, ok := sqlKeywordAt(t, e, "all")
		if !ok {
			return 0, false
		}
		if q, _, ok := sqlKeywordAt(t, p, "privileges"); ok {
			p = q
		}
		_, _, ok = sqlKeywordAt(t, p, "on")
		return kGrantAll, ok
	}
	return 0, false
}

// sqlDrop reads what DROP drops, from e.
func sqlDrop(t string, e int) (kind, bool) {
	p, obj, ok := sqlKeywordAt(t, e, "table", "database", "schema", "view", "index", "sequence", "function",
		"procedure", "trigger", "type", "user", "role", "materialized", "temporary", "temp")
	if !ok {
		return 0, false
	}
	if obj == "materialized" || obj == "temporary" || obj == "temp" {
		if _, _, ok = sqlKeywordAt(t, p, "view", "table"); !ok {
			return 0, false
		}
	}
	if obj == "database" || obj == "schema" {
		return kDropDatabase, true
	}
	return kDropTable, true
}

// sqlTruncate reports whether TRUNCATE, ending at e, reads as SQL.
func sqlTruncate(t string, e int) bool {
	p, _, hasTable := sqlKeywordAt(t, e, "table")
	if !hasTable {
		p = e
	}
	if q, _, ok := sqlKeywordAt(t, p, "only"); ok {
		p = q
	}
	n := sqlName(t, p)
	if n == sqlSkip(t, p) {
		return false
	}
	// Without TABLE, the name must end the statement (or go on with
	// more names or TRUNCATE options), so that prose does not count.
	if rest := sqlSkip(t, n); !hasTable && !sqlEnds(t, rest) && t[rest] != ',' {
		if _, _, ok := sqlKeywordAt(t, rest, "cascade", "restrict", "restart", "continue"); !ok {
			return false
		}
	}
	return true
}

// sqlUpdate reports whether UPDATE, ending at e, reads as SQL: a table
// name (and an alias) then SET.
func sqlUpdate(t string, e int) bool {
	p := e
	if q, _, ok := sqlKeywordAt(t, p, "only"); ok {
		p = q
	}
	n := sqlName(t, p)
	if n == sqlSkip(t, p) {
		return false
	}
	if _, _, ok := sqlKeywordAt(t, n, "set"); !ok {
		// An alias: UPDATE users u SET …
		q := sqlSkip(t, n)
		a := sqlWord(t, q)
		if a == q {
			return false
		}
		if _, _, ok := sqlKeywordAt(t, a, "set"); !ok {
			return false
		}
	}
	return true
}

// sqlEnds reports whether the statement ends at p: the end of the text, a
// ;, a ) or a quote closing the string it sits in.
func sqlEnds(t string, p int) bool {
	return p >= len(t) || strings.IndexByte(";)\"'`", t[p]) >= 0
}

// sqlTarget reports whether a table name follows at p and is followed by
// the end of the statement or one of the keywords that may follow it.
func sqlTarget(t string, p int, next ...string) bool {
	n := sqlName(t, p)
	if n == sqlSkip(t, p) {
		return false
	}
	rest := sqlSkip(t, n)
	if sqlEnds(t, rest) {
		return true
	}
	_, _, ok := sqlKeywordAt(t, rest, next...)
	return ok
}
