package mapping

import (
	"errors"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is a problem in a map file, at the line and column of the offending
// key (or, for TOML syntax errors, of the offending character). Its text is
// "file:line:col: what is wrong", the form editors and terminals jump to.
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

// tomlError turns go-toml's decode error into an Error.
func tomlError(file string, err error) *Error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if k := de.Key(); len(k) > 0 {
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
