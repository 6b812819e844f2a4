package naming

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// SyntaxError is a rule file that is not YAML, placed at the culprit.
//
// go-yaml reports the line where the enclosing block starts (a rule's
// "- seriesQuery:" line, counted from 0), not the line of the character
// it could not parse: in a 300-line ConfigMap that is no help. The
// culprit's line is found by parsing ever longer prefixes of the file
// (the first prefix that fails as the whole file does ends with it); on
// that line, a quote that ends a quoted value too early, or a tab, gives
// the column and a hint.
type SyntaxError struct {
	// Line and Column are 1-based; Column is 0 when not known.
	Line, Column int
	// Problem is go-yaml's message, without its position.
	Problem string
	// Detail says what was found at the column and how to fix it; empty
	// when nothing more is known.
	Detail string
}

func (e *SyntaxError) Error() string {
	var b bytes.Buffer
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// yamlErrorText splits go-yaml's "yaml: line N: problem".
var yamlErrorText = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// syntaxError places err, which go-yaml returned for data, at its culprit.
// An error that is not go-yaml's syntax error is returned as it is.
func syntaxError(data []byte, err error) error {
	m := yamlErrorText.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	reported, _ := strconv.Atoi(m[1])
	e := &SyntaxError{Line: reported, Problem: m[2]}
	// A prefix that ends inside a flow collection or a quoted value fails
	// as the file does, though the file may not fail there: for these
	// problems go-yaml's line, where the collection or value starts, is
	// the one to fix (counted from 0 for the parser's error, from 1 for
	// the scanner's).
	switch {
	case strings.HasPrefix(e.Problem, "did not find expected ',' or"):
		e.Line++
		e.Detail = "the flow collection ({...} or [...]) that starts on this line is not closed, or two of its entries have no comma between them"
		return e
	case e.Problem == "found unexpected end of stream":
		e.Detail = "a quoted value that starts on this line is never closed"
		return e
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	line := failingLine(lines, max(reported, 1), e.Problem)
	if line == 0 {
		return e
	}
	e.Line = line
	e.Column, e.Detail = culprit(string(bytes.TrimRight(lines[line-1], "\r\n")))
	return e
}

// failingLine returns the 1-based number of the last line of the shortest
// prefix of lines, from line from on, that go-yaml rejects with problem;
// 0 when none does. The enclosing block starts before the culprit, so
// shorter prefixes need not be tried.
func failingLine(lines [][]byte, from int, problem string) int {
	end := 0
	for _, l := range lines[:min(from-1, len(lines))] {
		end += len(l)
	}
	data := bytes.Join(lines, nil)
	for n := from; n <= len(lines); n++ {
		end += len(lines[n-1])
		var doc yaml.Node
		err := yaml.Unmarshal(data[:end], &doc)
		if err == nil {
			continue
		}
		if m := yamlErrorText.FindStringSubmatch(err.Error()); m != nil && m[2] == problem {
			return n
		}
	}
	return 0
}

// culprit finds, on the line where parsing fails, a quoted value that ends
// before the line does (a quote inside a value quoted with the same
// quote), or a tab: its 1-based column and what to do about it.
func culprit(line string) (column int, detail string) {
	// valueStart: a quote here opens a quoted value (after indentation,
	// "- ", ": ", "{", "[" or ","); elsewhere it is part of a plain value.
	valueStart := true
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\t':
			return col(line, i), "a tab: YAML indents with spaces only, and a value with a tab in it must be quoted"
		case c == ' ':
			continue
		case c == '#' && (i == 0 || line[i-1] == ' '):
			return 0, ""
		case (c == '"' || c == '\'') && valueStart:
			end := closingQuote(line, i)
			if end < 0 {
				return 0, "" // continues on the next line
			}
			if rest := firstNonSpace(line[end+1:]); rest != 0 && !endsValue(rest) {
				return col(line, end), quoteDetail(c, col(line, end), col(line, i))
			}
			i = end
			valueStart = false
		case c == '-' || c == '{' || c == '[' || c == ',' || c == '?':
			valueStart = c != '-' && c != '?' || i+1 == len(line) || line[i+1] == ' '
		case c == ':' && (i+1 == len(line) || line[i+1] == ' '):
			valueStart = true
		default:
			valueStart = false
		}
	}
	return 0, ""
}

// closingQuote returns the index of the quote that closes the value opened
// at open, -1 when the line ends first.
func closingQuote(line string, open int) int {
	q := line[open]
	for j := open + 1; j < len(line); j++ {
		switch {
		case q == '"' && line[j] == '\\':
			j++ // an escape: the next character is part of the value
		case q == '\'' && line[j] == '\'' && j+1 < len(line) && line[j+1] == '\'':
			j++ // '' is a single quote
		case line[j] == q:
			return j
		}
	}
	return -1
}

// endsValue tells whether c may follow a quoted value on its line: the
// ':' of a key, the ',', '}' or ']' of a flow collection, a comment.
func endsValue(c byte) bool {
	return c == ':' || c == ',' || c == '}' || c == ']' || c == '#'
}

func firstNonSpace(s string) byte {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return s[i]
		}
	}
	return 0
}

// col is the 1-based column, in characters, of the byte at i.
func col(line string, i int) int {
	return utf8.RuneCountInString(line[:i]) + 1
}

func quoteDetail(q byte, at, opened int) string {
	if q == '"' {
		return fmt.Sprintf(`the double quote at column %d ends the double-quoted value that starts at column %d, and the line goes on after it; `+
			`to put double quotes in a value (container!="POD"), write the value in single quotes ('...') or as a block scalar (|), or escape each inner quote as \"`, at, opened)
	}
	return fmt.Sprintf(`the single quote at column %d ends the single-quoted value that starts at column %d, and the line goes on after it; `+
		`to put a single quote in a single-quoted value, double it (''), or write the value in double quotes or as a block scalar (|)`, at, opened)
}
