package detect

import (
	"slices"
	"strconv"
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
// next ; outside quotes and comments, or the end of the text), noting its
// last WHERE that is not a tautology and its last DROP. Comments (--, #,
// /* */) are skipped, so that a WHERE in a comment does not count; the
// content of a MySQL executable comment (/*! … */) is code.
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
		case c == '-' || c == '#' || c == '/':
			if k := sqlComment(t, i); k > i {
				i = k - 1
			}
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

// sqlComment returns the end of the comment at p (--, # or /* */, not
// the /*! that opens a MySQL executable comment), or p when none starts
// there. A comment that does not end within 4096 bytes runs to the end of
// the text.
func sqlComment(t string, p int) int {
	switch {
	case strings.HasPrefix(t[p:], "/*") && !strings.HasPrefix(t[p:], "/*!"):
		k := strings.Index(t[p+2:min(len(t), p+4096)], "*/")
		if k < 0 {
			return len(t)
		}
		return p + 2 + k + 2
	case strings.HasPrefix(t[p:], "--") || t[p] == '#' && !strings.HasPrefix(t[p:], "#>"):
		k := strings.IndexByte(t[p:min(len(t), p+4096)], '\n')
		if k < 0 {
			return len(t)
		}
		return p + k + 1
	}
	return p
}

// tautology reports whether the WHERE clause at p holds for every row: an
// OR of conditions one of which is only always-true comparisons (1, TRUE,
// NOT FALSE, 1=1, 'a'='a', id=id, 1<2, 'x' IS NOT NULL) joined by AND.
// Parentheses are read as blanks, so that WHERE (1=1) is one too.
func tautology(t string, p int) bool {
	var atom [4]string
	n, all := 0, true
	for range 64 {
		p = sqlSkip(t, p)
		for p < len(t) && (t[p] == '(' || t[p] == ')') {
			p = sqlSkip(t, p+1)
		}
		e := sqlToken(t, p)
		tok := t[p:e]
		if e == p || oneOfFold(tok, "and", "or", "order", "limit", "returning", "output", "group", "select") {
			all = all && n > 0 && trueAtom(atom[:min(n, len(atom))], n)
			if !equalFold(tok, "and") {
				if all && n > 0 {
					return true
				}
				if !equalFold(tok, "or") {
					return false
				}
				all = true
			}
			n = 0
			if e == p {
				return false
			}
		} else {
			if n < len(atom) {
				atom[n] = tok
			}
			n++
		}
		p = e
	}
	return false
}

// sqlToken returns the end of the SQL token at p: a word, a number, a
// quoted string or an operator; p at the end of the statement.
func sqlToken(t string, p int) int {
	if p >= len(t) {
		return p
	}
	switch c := t[p]; {
	case c == ';':
		return p
	case c == '\'' || c == '"' || c == '`':
		k := strings.IndexByte(t[p+1:min(len(t), p+256)], c)
		if k < 0 {
			return p
		}
		return p + 1 + k + 1
	case isIdent(c) || c == '$' || c == '.':
		e := p
		for e < len(t) && (isIdent(t[e]) || t[e] == '$' || t[e] == '.') {
			e++
		}
		return e
	case strings.IndexByte("=<>!", c) >= 0:
		e := p + 1
		for e < len(t) && e-p < 2 && strings.IndexByte("=<>", t[e]) >= 0 {
			e++
		}
		return e
	}
	return p + 1
}

// trueAtom reports whether the condition of n tokens (the first of them
// in a) holds for every row.
func trueAtom(a []string, n int) bool {
	switch n {
	case 1:
		return equalFold(a[0], "true") || isNumber(a[0]) && strings.Trim(a[0], "0.") != ""
	case 2:
		return equalFold(a[0], "not") && (equalFold(a[1], "false") || isNumber(a[1]) && strings.Trim(a[1], "0.") == "")
	case 3:
		x, op, y := a[0], a[1], a[2]
		if equalFold(op, "like") {
			return x == y || y == "'%'"
		}
		if x == y && !isNumber(x) {
			return oneOfFold(op, "=", "==", "<=", ">=", "is", "<=>")
		}
		if isNumber(x) && isNumber(y) {
			a, _ := strconv.ParseFloat(x, 64)
			b, _ := strconv.ParseFloat(y, 64)
			return compare(a, b, op)
		}
		if isQuoted(x) && isQuoted(y) {
			return compare(float64(strings.Compare(x, y)), 0, op)
		}
	case 4:
		return sqlLiteral(a[0]) && equalFold(a[1], "is") && equalFold(a[2], "not") && equalFold(a[3], "null")
	}
	return false
}

func compare(a, b float64, op string) bool {
	switch op {
	case "=", "==", "<=>":
		return a == b
	case "<>", "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && s != "" && (isDigit(s[0]) || s[0] == '.')
}

func isQuoted(s string) bool { return len(s) >= 2 && (s[0] == '\'' || s[0] == '"') }

func sqlLiteral(s string) bool { return isNumber(s) || isQuoted(s) || equalFold(s, "true") }

// sqlSkip skips white space and comments (/* … */, -- …, # …). It also
// skips the /*!NNNNN that opens a MySQL executable comment and a */ that
// closes one: what such a comment holds is code.
func sqlSkip(t string, p int) int {
	for p < len(t) {
		switch {
		case isSpace(t[p]):
			p++
		case strings.HasPrefix(t[p:], "/*!"):
			p += 3
			for p < len(t) && isDigit(t[p]) {
				p++
			}
		case strings.HasPrefix(t[p:], "*/"):
			p += 2
		default:
			k := sqlComment(t, p)
			if k == p {
				return p
			}
			p = k
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
		if k := executableOpen(t, j); k >= 0 {
			return true
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

// executableOpen returns where the /*! or /*!NNNNN that ends at j starts
// (a MySQL executable comment, whose content is code), or -1.
func executableOpen(t string, j int) int {
	k := j
	for k > 0 && j-k <= 6 && isDigit(t[k-1]) {
		k--
	}
	if k >= 3 && t[k-3:k] == "/*!" {
		return k - 3
	}
	return -1
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
		return kDeleteWithoutWhere, sqlDelete(t, e)
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

// deleteNext are the keywords that may follow the table of a DELETE.
var deleteNext = []string{"where", "using", "returning", "output", "order", "limit", "as", "join", "inner",
	"left", "right", "full", "cross", "natural", "straight_join", "from", "with", "option"}

// sqlDelete reports whether DELETE, ending at e, reads as SQL: its
// modifiers (LOW_PRIORITY, QUICK, IGNORE, ONLY, TOP (n)), then FROM and a
// table, or, as in T-SQL, a table (or the alias of one) and then FROM or
// the end of the statement: DELETE t FROM t JOIN …, DELETE users.
func sqlDelete(t string, e int) bool {
	p := sqlModifiers(t, e, "low_priority", "quick", "ignore", "only")
	if q, _, ok := sqlKeywordAt(t, p, "top"); ok {
		q = sqlSkip(t, q)
		if q < len(t) && t[q] == '(' {
			k := strings.IndexByte(t[q:min(len(t), q+32)], ')')
			if k < 0 {
				return false
			}
			q += k + 1
		}
		p = q
		if q, _, ok := sqlKeywordAt(t, p, "percent"); ok {
			p = q
		}
	}
	if q, _, ok := sqlKeywordAt(t, p, "from"); ok {
		return sqlTarget(t, sqlModifiers(t, q, "only"), deleteNext...)
	}
	n := sqlName(t, p)
	if n == sqlSkip(t, p) {
		return false
	}
	// DELETE name alone: in capitals or ended by ;, so that prose at the
	// start of a line ("delete it", "Delete everything") does not count.
	rest := sqlSkip(t, n)
	if sqlEnds(t, rest) {
		return t[e-len("delete"):e] == "DELETE" || rest < len(t) && t[rest] == ';'
	}
	_, _, ok := sqlKeywordAt(t, rest, "from", "where", "output")
	return ok
}

// sqlModifiers skips the keywords words that follow p, in any order.
func sqlModifiers(t string, p int, words ...string) int {
	for {
		q, _, ok := sqlKeywordAt(t, p, words...)
		if !ok {
			return p
		}
		p = q
	}
}

// sqlUpdate reports whether UPDATE, ending at e, reads as SQL: a table
// name (and an alias) then SET.
func sqlUpdate(t string, e int) bool {
	p := sqlModifiers(t, e, "only", "low_priority", "ignore")
	n := sqlName(t, p)
	if n == sqlSkip(t, p) {
		return false
	}
	if q, _, ok := sqlKeywordAt(t, n, "as"); ok {
		n = q
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
	return p >= len(t) || strings.IndexByte(";)\"'`", t[p]) >= 0 || strings.HasPrefix(t[p:], "*/")
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
	if _, _, ok := sqlKeywordAt(t, rest, next...); ok {
		return true
	}
	// An alias: DELETE FROM users u, then the end or a keyword.
	a := sqlWord(t, rest)
	if a == rest || a-rest > 32 {
		return false
	}
	rest = sqlSkip(t, a)
	if sqlEnds(t, rest) {
		return true
	}
	_, _, ok := sqlKeywordAt(t, rest, next...)
	return ok
}
