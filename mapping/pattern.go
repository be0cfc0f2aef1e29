package mapping

import "bytes"

// OSC 1.0 address patterns, matched per "/" segment and anchored at both
// ends. The OSC controller has its own matcher for dispatch; this one serves
// map rules, whose patterns are checked once when a map is compiled.
//
// Matching is a backtracking walk over the raw pattern bytes with a step
// budget, so a pathological pattern ("*a*a*a*a*b" against a long address)
// costs bounded time and simply fails to match instead of stalling the input
// goroutine. Ordinary patterns use a few dozen steps.

// matchBudget bounds the steps one address match may take.
const matchBudget = 1 << 14

// maxPatternSeg is the longest segment a map may write.
const maxPatternSeg = 255

// isPatternChar reports whether c has a meaning in an OSC address pattern.
func isPatternChar(c byte) bool {
	switch c {
	case '*', '?', '[', ']', '{', '}':
		return true
	}
	return false
}

// hasPatternChars reports whether address holds any pattern character.
func hasPatternChars(address []byte) bool {
	for _, c := range address {
		if isPatternChar(c) {
			return true
		}
	}
	return false
}

// checkPattern returns "" if p is a valid OSC address pattern, else what is
// wrong with it. It never allocates.
func checkPattern(p []byte) string {
	if len(p) == 0 || p[0] != '/' {
		return "an OSC address must start with '/'"
	}
	seg := 0
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			if i-seg == 1 {
				return "an OSC address must not contain an empty segment (\"//\")"
			}
			seg = i
			continue
		case c <= ' ' || c == '#' || c >= 0x7f:
			return "an OSC address may only hold printable ASCII other than space and '#'"
		case c == ']':
			return "']' without a matching '['"
		case c == '}':
			return "'}' without a matching '{'"
		case c == ',':
			return "',' is only allowed inside {...}"
		case c == '[':
			end := classEnd(p, i)
			if end < 0 {
				return "'[' without a matching ']' in the same segment"
			}
			if msg := checkClass(p[i+1 : end]); msg != "" {
				return msg
			}
			i = end
		case c == '{':
			j := i + 1
			for ; j < len(p) && p[j] != '}'; j++ {
				if p[j] == '/' || p[j] == '{' || p[j] <= ' ' || p[j] >= 0x7f || (isPatternChar(p[j]) && p[j] != '}') {
					return "'{...}' must hold plain text alternatives separated by ','"
				}
			}
			if j == len(p) {
				return "'{' without a matching '}' in the same segment"
			}
			i = j
		}
		if i-seg > maxPatternSeg {
			return "an OSC address segment is longer than 255 bytes"
		}
	}
	if len(p) > 1 && p[len(p)-1] == '/' {
		return "an OSC address must not end with '/'"
	}
	return ""
}

// classEnd returns the index of the ']' closing the '[' at p[i], or -1. A
// ']' right after "[" or "[!" is a member, as in POSIX brackets.
func classEnd(p []byte, i int) int {
	j := i + 1
	if j < len(p) && p[j] == '!' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++
	}
	for ; j < len(p); j++ {
		switch p[j] {
		case ']':
			return j
		case '/':
			return -1
		}
	}
	return -1
}

// checkClass checks the inside of a [...] class.
func checkClass(c []byte) string {
	if len(c) > 0 && c[0] == '!' {
		c = c[1:]
	}
	if len(c) == 0 {
		return "'[]' must hold at least one character"
	}
	for i := 0; i < len(c); i++ {
		if c[i] <= ' ' || c[i] >= 0x7f {
			return "'[...]' may only hold printable ASCII"
		}
		if i+2 < len(c) && c[i+1] == '-' {
			if c[i+2] < c[i] {
				return "a range in '[...]' runs backwards"
			}
			i += 2
		}
	}
	return ""
}

// classMatch reports whether b is in the class c (the bytes between '['
// and ']'): "!" negates, "a-z" is a range, a '-' first or last is literal.
func classMatch(c []byte, b byte) bool {
	neg := false
	if len(c) > 0 && c[0] == '!' {
		neg, c = true, c[1:]
	}
	in := false
	for i := 0; i < len(c); i++ {
		if i+2 < len(c) && c[i+1] == '-' {
			if c[i] <= b && b <= c[i+2] {
				in = true
			}
			i += 2
			continue
		}
		if c[i] == b {
			in = true
		}
	}
	return in != neg
}

// matchAddress reports whether the valid pattern p matches the literal
// address a. It never allocates.
func matchAddress(p, a []byte) bool {
	budget := matchBudget
	for {
		pi := bytes.IndexByte(p, '/')
		ai := bytes.IndexByte(a, '/')
		if (pi < 0) != (ai < 0) {
			return false
		}
		if pi < 0 {
			return matchSeg(p, a, &budget)
		}
		if !matchSeg(p[:pi], a[:ai], &budget) {
			return false
		}
		p, a = p[pi+1:], a[ai+1:]
	}
}

// matchSeg matches one pattern segment against one address segment.
func matchSeg(p, a []byte, budget *int) bool {
	for len(p) > 0 {
		*budget--
		if *budget < 0 {
			return false
		}
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if len(p) == 0 {
				return true
			}
			for i := 0; i <= len(a); i++ {
				if matchSeg(p, a[i:], budget) {
					return true
				}
				if *budget < 0 {
					return false
				}
			}
			return false
		case '?':
			if len(a) == 0 {
				return false
			}
			p, a = p[1:], a[1:]
		case '[':
			end := classEnd(p, 0)
			if end < 0 || len(a) == 0 || !classMatch(p[1:end], a[0]) {
				return false
			}
			p, a = p[end+1:], a[1:]
		case '{':
			end := bytes.IndexByte(p, '}')
			if end < 0 {
				return false
			}
			alts, rest := p[1:end], p[end+1:]
			for {
				k := bytes.IndexByte(alts, ',')
				alt := alts
				if k >= 0 {
					alt = alts[:k]
				}
				if bytes.HasPrefix(a, alt) && matchSeg(rest, a[len(alt):], budget) {
					return true
				}
				if k < 0 || *budget < 0 {
					return false
				}
				alts = alts[k+1:]
			}
		default:
			if len(a) == 0 || a[0] != p[0] {
				return false
			}
			p, a = p[1:], a[1:]
		}
	}
	return len(a) == 0
}

// segment returns the n-th (1-based) "/" segment of address a, or nil.
func segment(a []byte, n int) []byte {
	if len(a) == 0 || a[0] != '/' || n < 1 {
		return nil
	}
	a = a[1:]
	for i := 1; ; i++ {
		k := bytes.IndexByte(a, '/')
		if i == n {
			if k >= 0 {
				return a[:k]
			}
			return a
		}
		if k < 0 {
			return nil
		}
		a = a[k+1:]
	}
}

// countSegments returns the number of "/" segments of a valid address.
func countSegments(a []byte) int { return bytes.Count(a, []byte{'/'}) }
