// Package tomlpos finds where each key of a TOML document is written, so
// that a decoder working on go-toml's position-free generic tree can still
// report file:line:col. Map files (package mapping) and patch files
// (dsp/graphfile) use it.
package tomlpos

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is a problem in a TOML file, at the line and column of the
// offending key (or, for TOML syntax errors, of the offending character).
// Its text is "file:line:col: what is wrong", the form editors and
// terminals jump to.
type Error struct {
	File string
	Line int // 1-based; 0 when the problem has no position (an unreadable file)
	Col  int // 1-based byte column
	Msg  string
}

// Error returns "file:line:col: msg".
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col) + ": " + e.Msg
}

// DecodeError turns go-toml's error while reading file into an Error, at
// the position go-toml names; withKey adds the key path it names.
func DecodeError(file string, err error, withKey bool) *Error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if k := de.Key(); withKey && len(k) > 0 {
			msg += " (in " + strings.Join(k, ".") + ")"
		}
		return &Error{File: file, Line: line, Col: col, Msg: msg}
	}
	var pe *unstable.ParserError
	if errors.As(err, &pe) {
		return &Error{File: file, Msg: pe.Message}
	}
	return &Error{File: file, Msg: err.Error()}
}

// Position is a 1-based line and column.
type Position struct{ Line, Col int }

// Index maps a key path to where its key is written. Paths join keys
// with "." and count array elements from 0: "rule.3.to.0.curve" is the
// curve of the first target of the fourth rule, whether the document wrote
// it with [[rule]] headers, [[rule.to]] headers, inline tables or dotted
// keys. The decoder works on go-toml's generic tree, which has no
// positions; this index, built from go-toml's own parser, supplies them.
type Index map[string]Position

// Build walks the document's expressions. It only runs on documents
// that go-toml has already decoded successfully.
func Build(src []byte) Index {
	idx := Index{}
	var p unstable.Parser
	p.Reset(src)
	arrays := map[string]int{} // array-of-tables path → elements so far
	cur := ""
	// Line starts, so a Position costs a binary search rather than a scan
	// from the top (unstable.Parser.Shape scans, which is quadratic over a
	// large file).
	lines := []int{0}
	for i, b := range src {
		if b == '\n' {
			lines = append(lines, i+1)
		}
	}
	pos := func(r unstable.Range) Position {
		off := int(r.Offset)
		i := sort.Search(len(lines), func(i int) bool { return lines[i] > off }) - 1
		return Position{i + 1, off - lines[i] + 1}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			it := e.Key()
			var parts []string
			var first unstable.Range
			for it.Next() {
				if len(parts) == 0 {
					first = it.Node().Raw
				}
				parts = append(parts, string(it.Node().Data))
			}
			path := ""
			for i, part := range parts {
				path = Join(path, part)
				last := i == len(parts)-1
				if n, ok := arrays[path]; ok && !(last && e.Kind == unstable.ArrayTable) {
					path = Join(path, strconv.Itoa(n-1))
				}
			}
			if e.Kind == unstable.ArrayTable {
				n := arrays[path]
				arrays[path] = n + 1
				idx[path] = pos(first)
				path = Join(path, strconv.Itoa(n))
			}
			idx[path] = pos(first)
			cur = path
		case unstable.KeyValue:
			indexKeyValue(idx, e, cur, pos)
		}
	}
	return idx
}

// indexKeyValue records a key-value's key and, for inline tables and
// arrays of inline tables, the keys inside.
func indexKeyValue(idx Index, kv *unstable.Node, base string, pos func(unstable.Range) Position) {
	it := kv.Key()
	path := base
	first := true
	for it.Next() {
		path = Join(path, string(it.Node().Data))
		if first {
			idx[path] = pos(it.Node().Raw)
			first = false
		} else if _, ok := idx[path]; !ok {
			idx[path] = pos(it.Node().Raw)
		}
	}
	if first {
		return
	}
	indexValue(idx, kv.Value(), path, idx[path], pos)
}

func indexValue(idx Index, v *unstable.Node, path string, at Position, pos func(unstable.Range) Position) {
	switch v.Kind {
	case unstable.InlineTable:
		children := v.Children()
		for children.Next() {
			if c := children.Node(); c.Kind == unstable.KeyValue {
				indexKeyValue(idx, c, path, pos)
			}
		}
	case unstable.Array:
		children := v.Children()
		i := 0
		for children.Next() {
			c := children.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			ep := Join(path, strconv.Itoa(i))
			if c.Kind == unstable.InlineTable {
				idx[ep] = pos(c.Raw)
			} else {
				idx[ep] = at
			}
			indexValue(idx, c, ep, idx[ep], pos)
			i++
		}
	}
}

// Join joins two key paths with ".".
func Join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// Lookup returns the Position of path, or of its nearest recorded parent.
func (idx Index) Lookup(path string) Position {
	for {
		if p, ok := idx[path]; ok {
			return p
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return Position{1, 1}
		}
		path = path[:i]
	}
}
