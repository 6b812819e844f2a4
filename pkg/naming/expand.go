package naming

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// asPart is a piece of a name.as template: literal text, or a reference
// to a group that name.matches captures.
type asPart struct {
	// text is the literal text of a piece that is no reference.
	text string
	// ref is the reference as written ("1", "01", "base"); empty for text.
	ref string
	// num is the group number of a numeric reference, -1 for a name.
	num int
}

func (p asPart) isRef() bool { return p.ref != "" }

// group is the index of the group p refers to in re, -1 when re has no
// group of that name. The number of a numeric reference may be past
// re's groups.
func (p asPart) group(re *regexp.Regexp) int {
	if p.num >= 0 {
		return p.num
	}
	return re.SubexpIndex(p.ref)
}

// parseAs reads a name.as template as regexp.Expand reads it, which is
// how Match expands it: "$$" is a "$", "$name" and "${name}" refer to a
// group (see expandRef), and a "$" that starts no reference stays as
// text. Adjacent text is one piece.
func parseAs(as string) []asPart {
	var parts []asPart
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			parts = append(parts, asPart{text: text.String(), num: -1})
			text.Reset()
		}
	}
	rest := as
	for {
		before, after, ok := strings.Cut(rest, "$")
		text.WriteString(before)
		if !ok {
			break
		}
		rest = after
		if strings.HasPrefix(rest, "$") { // $$ is a literal $
			text.WriteByte('$')
			rest = rest[1:]
			continue
		}
		name, num, tail, ok := expandRef(rest)
		if !ok {
			text.WriteByte('$') // regexp.Expand keeps a malformed $ as text
			continue
		}
		flush()
		parts = append(parts, asPart{ref: name, num: num})
		rest = tail
	}
	flush()
	return parts
}

// expandRef reads one reference after a '$' the way regexp.Expand does:
// a name of letters, digits and '_' (Unicode ones, read as UTF-8),
// optionally in braces. num is the group number when the name is a
// number, -1 otherwise; a number has no leading zero ("01" is a name, as
// for regexp.Expand) and fewer than 9 digits (regexp.Expand reads 9
// digits as a number too: a group that no name.matches has, so such a
// reference is an error either way, only worded as one to a missing name).
func expandRef(s string) (name string, num int, rest string, ok bool) {
	brace := strings.HasPrefix(s, "{")
	if brace {
		s = s[1:]
	}
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			break
		}
		i += size
	}
	if i == 0 {
		return "", 0, "", false
	}
	name = s[:i]
	if brace {
		if i >= len(s) || s[i] != '}' {
			return "", 0, "", false
		}
		i++
	}
	num = -1
	if n, err := strconv.Atoi(name); err == nil && n >= 0 && n < 1e8 && (name == "0" || name[0] != '0') && !strings.ContainsAny(name, "+-") {
		num = n
	}
	return name, num, s[i:], true
}

// singleReference reads a name.as template that refers to exactly one
// group of re: the group's index and the literal text before and after
// the reference.
func singleReference(as string, re *regexp.Regexp) (group int, before, after string, ok bool) {
	parts := parseAs(as)
	ref := -1
	for i, p := range parts {
		if !p.isRef() {
			continue
		}
		if ref >= 0 {
			return 0, "", "", false
		}
		ref = i
	}
	if ref < 0 {
		return 0, "", "", false
	}
	group = parts[ref].group(re)
	if group < 0 || group > re.NumSubexp() {
		return 0, "", "", false
	}
	if ref > 0 {
		before = parts[ref-1].text
	}
	if ref+1 < len(parts) {
		after = parts[ref+1].text
	}
	return group, before, after, true
}
