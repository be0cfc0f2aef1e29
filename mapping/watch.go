package mapping

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// debounce lets an editor finish writing (several writes, or write and
// rename) before the directory is read again.
var debounce = 50 * time.Millisecond

// Watch loads the maps as Load does, calls onChange with the Set, and then
// watches dirs for changes until ctx is done. After a change, every map
// file is read again; files whose bytes did not change keep their compiled
// Map (so their held notes and latches survive in a Session), changed
// files are compiled, and onChange receives the new Set if anything in it
// changed. A file that fails to compile leaves its previous version (if
// any) in the Set, gives exactly one log line "file:line:col: what is
// wrong" and one call of onError (which may be nil); the same broken bytes
// are not reported again.
//
// onChange usually stores the Set in a Live, from which Sessions swap it
// in between two events:
//
//	live := mapping.NewLive(nil)
//	go mapping.Watch(ctx, maps.FS(), []string{mapping.UserDir(cfg)}, live.Store, nil, log)
//
// onChange and onError run on Watch's goroutine. Watch returns nil when ctx
// is done, or an error if a directory cannot be watched.
func Watch(ctx context.Context, base fs.FS, dirs []string, onChange func(*Set), onError func(error), log zerolog.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("mapping: watching map directories: %w", err)
	}
	defer w.Close()
	// Watch before the first read, so no change slips in between.
	for _, d := range dirs {
		if err := w.Add(d); err != nil {
			return fmt.Errorf("mapping: watching map directory %s: %w", d, err)
		}
	}
	l := &loader{base: base, dirs: dirs, cache: map[string]*entry{}, log: log, onError: onError}
	set, _ := l.scan(true)
	onChange(set)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if isMapFile(filepath.Base(ev.Name)) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				timer.Reset(debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			log.Warn().Err(err).Msg("Map directory watch reported an error; edits may be missed until the next change.")
			timer.Reset(debounce)
		case <-timer.C:
			if set, changed := l.scan(false); changed {
				onChange(set)
			}
		}
	}
}

// entry is what the loader remembers about one map name.
type entry struct {
	file    string // where the good version came from
	data    []byte // its bytes
	m       *Map   // its compiled form; nil if it never compiled
	badFile string // the last broken version reported
	bad     []byte
}

// loader rereads the layers and compiles what changed.
type loader struct {
	base    fs.FS
	dirs    []string
	cache   map[string]*entry
	last    []*Map
	dirErr  string
	log     zerolog.Logger
	onError func(error)
}

func (l *loader) report(err error) {
	l.log.Error().Msg(err.Error())
	if l.onError != nil {
		l.onError(err)
	}
}

// scan reads every layer and returns the Set and whether it differs from
// the previous scan's.
func (l *loader) scan(first bool) (*Set, bool) {
	srcs, err := gather(l.base, l.dirs)
	switch {
	case err != nil && err.Error() != l.dirErr:
		l.dirErr = err.Error()
		l.report(err)
	case err == nil:
		l.dirErr = ""
	}
	var maps []*Map
	for _, name := range sortedKeys(srcs) {
		src := srcs[name]
		e := l.cache[name]
		if e == nil {
			e = &entry{}
			l.cache[name] = e
		}
		switch {
		case e.m != nil && e.file == src.file && bytes.Equal(e.data, src.data):
			maps = append(maps, e.m)
			continue
		case e.bad != nil && e.badFile == src.file && bytes.Equal(e.bad, src.data):
			if e.m != nil {
				maps = append(maps, e.m) // still broken: the old version keeps playing
			}
			continue
		}
		m, err := Compile(src.file, src.data)
		if err != nil {
			e.badFile, e.bad = src.file, src.data
			l.report(err)
			if e.m != nil {
				maps = append(maps, e.m)
			}
			continue
		}
		lvl := l.log.Info()
		msg := "Reloaded map."
		if first {
			lvl, msg = l.log.Debug(), "Loaded map."
		}
		lvl.Str("file", src.file).Int("rules", m.Len()).Bool("enabled", m.Enabled()).Msg(msg)
		e.file, e.data, e.m, e.badFile, e.bad = src.file, src.data, m, "", nil
		maps = append(maps, m)
	}
	for name, e := range l.cache {
		if _, ok := srcs[name]; !ok {
			if e.m != nil && !first {
				l.log.Info().Str("file", e.file).Msg("Map file removed; its rules no longer apply.")
			}
			delete(l.cache, name)
		}
	}
	changed := len(maps) != len(l.last)
	for i := 0; !changed && i < len(maps); i++ {
		changed = maps[i] != l.last[i]
	}
	l.last = maps
	return NewSet(maps...), changed || first
}
