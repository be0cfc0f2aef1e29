package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
)

// Set is the layered collection of maps that is in effect: every enabled
// map, ordered by file name. For each event the maps run in that order and,
// inside each map, the rules run in file order; every rule that matches
// fires, so one event may drive targets in several maps. A rule with final
// = true stops the event there: later rules and later maps do not see it.
// To let a user map take precedence, give it a name that sorts first
// ("00-mine.toml") and mark its rules final.
//
// A Set is immutable; any goroutine may use it.
type Set struct {
	maps   []*Map
	device bool
}

// NewSet builds a Set from maps: disabled maps are left out, and of maps
// with the same Name the last one given wins.
func NewSet(maps ...*Map) *Set {
	byName := map[string]*Map{}
	for _, m := range maps {
		if m != nil {
			byName[m.name] = m
		}
	}
	s := &Set{}
	for _, m := range byName {
		if m.enabled {
			s.maps = append(s.maps, m)
			s.device = s.device || m.device
		}
	}
	sort.Slice(s.maps, func(i, j int) bool { return s.maps[i].name < s.maps[j].name })
	return s
}

// Maps returns the maps in the order they run (a new slice).
func (s *Set) Maps() []*Map { return append([]*Map(nil), s.maps...) }

// Lookup returns the map with the given file name, or nil.
func (s *Set) Lookup(name string) *Map {
	for _, m := range s.maps {
		if m.name == name {
			return m
		}
	}
	return nil
}

// NeedsDevice reports whether some rule filters on the device name.
func (s *Set) NeedsDevice() bool { return s.device }

// Apply runs every map on ev and appends the commands to dst; see
// Map.Apply. It is pure and allocates nothing when dst has room; any
// goroutine.
func (s *Set) Apply(ev *controllers.Event, dst []proto.Command) []proto.Command {
	return s.ApplyFrom(ev, "", dst)
}

// ApplyFrom is Apply for an event from the named device; see Map.ApplyFrom.
func (s *Set) ApplyFrom(ev *controllers.Event, device string, dst []proto.Command) []proto.Command {
	for _, m := range s.maps {
		var final bool
		if dst, final = m.apply(ev, device, nil, dst, nil); final {
			break
		}
	}
	return dst
}

// UserDir returns where a user's own maps live, given the configuration
// directory (--config DIR): DIR/maps.
func UserDir(configDir string) string { return filepath.Join(configDir, "maps") }

// source is one map file found in a layer.
type source struct {
	name string // base name: the layering identity
	file string // label for messages
	data []byte
}

// gather reads the *.toml files of base and dirs; a later layer's file
// replaces an earlier one with the same name. A directory that does not
// exist is an error; so is one that cannot be read.
func gather(base fs.FS, dirs []string) (map[string]source, error) {
	out := map[string]source{}
	if base != nil {
		names, err := fs.Glob(base, "*.toml")
		if err != nil {
			return nil, fmt.Errorf("mapping: listing shipped maps: %w", err)
		}
		for _, n := range names {
			data, err := fs.ReadFile(base, n)
			if err != nil {
				return nil, fmt.Errorf("mapping: reading shipped map %s: %w", n, err)
			}
			out[n] = source{name: n, file: "maps/" + n, data: data}
		}
	}
	var errs []error
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("mapping: reading map directory: %w", err))
			continue
		}
		for _, e := range entries {
			n := e.Name()
			if !isMapFile(n) || e.IsDir() {
				continue
			}
			file := filepath.Join(dir, n)
			data, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, &Error{File: file, Msg: "cannot read the file: " + unwrapPath(err)})
				continue
			}
			out[n] = source{name: n, file: file, data: data}
		}
	}
	return out, errors.Join(errs...)
}

// isMapFile accepts "name.toml" but not hidden files or editor leftovers.
func isMapFile(name string) bool {
	return strings.HasSuffix(name, ".toml") && !strings.HasPrefix(name, ".") && len(name) > len(".toml")
}

// unwrapPath drops the path from an *fs.PathError, which Error already names.
func unwrapPath(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Load reads the shipped maps in base (its *.toml files; nil for none) and
// the *.toml files of each directory in dirs, later layers replacing
// earlier files of the same name, compiles them and returns the Set of
// those that compiled. The error joins one *Error per broken file (and any
// unreadable directory); the Set is usable either way.
//
// Load does I/O: call it from a loading goroutine, never the input path.
func Load(base fs.FS, dirs ...string) (*Set, error) {
	srcs, gerr := gather(base, dirs)
	var maps []*Map
	var errs []error
	if gerr != nil {
		errs = append(errs, gerr)
	}
	for _, n := range sortedKeys(srcs) {
		m, err := Compile(srcs[n].file, srcs[n].data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		maps = append(maps, m)
	}
	return NewSet(maps...), errors.Join(errs...)
}
