// Package maps holds the controller maps shipped with Chronus, embedded in
// the binary so that it plays from any directory: the *.toml map files (see
// README.md for their schema) and, under examples/, the controller-side
// files that go with them, such as the Open Stage Control session.
//
// A user's own maps (mapping.UserDir) add to these and replace those with
// the same file name; the mapping package does the layering.
package maps

import (
	"embed"
	"io/fs"
)

//go:embed *.toml examples
var files embed.FS

// FS returns the shipped files: the map files at its root, the examples in
// examples/. It is read-only and safe for concurrent use.
func FS() fs.FS { return files }
