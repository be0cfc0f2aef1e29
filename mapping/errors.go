package mapping

import "github.com/chronus-audio/chronus/mapping/tomlpos"

// Error is a problem in a map file, at the line and column of the offending
// key (or, for TOML syntax errors, of the offending character). Its text is
// "file:line:col: what is wrong", the form editors and terminals jump to.
type Error = tomlpos.Error

// tomlError turns go-toml's decode error into an Error.
func tomlError(file string, err error) *Error { return tomlpos.DecodeError(file, err, true) }
