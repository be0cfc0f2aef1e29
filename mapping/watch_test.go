package mapping

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/controllers"
)

// lockedBuffer collects log output from Watch's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// writeFile replaces path atomically, as editors do.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func ccRule(num int) string {
	return "[[rule]]\ncc = 1\nto = { do = \"control\", number = " + string(rune('0'+num)) + " }\n"
}

func TestWatchReloads(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "user.toml")
	writeFile(t, user, ccRule(2))
	shipped := fstest.MapFS{"keys.toml": {Data: []byte(keysV1)}}

	var logs lockedBuffer
	log := zerolog.New(&logs)
	live := NewLive(nil)
	changes := make(chan *Set, 16)
	errs := make(chan error, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, shipped, []string{dir}, func(s *Set) { live.Store(s); changes <- s }, func(err error) { errs <- err }, log)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch returned %v", err)
		}
	}()

	wait := func(what string) *Set {
		t.Helper()
		select {
		case s := <-changes:
			return s
		case err := <-errs:
			t.Fatalf("%s: unexpected error %v", what, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no change within 5 s", what)
		}
		return nil
	}
	waitErr := func(what string) error {
		t.Helper()
		select {
		case err := <-errs:
			return err
		case s := <-changes:
			t.Fatalf("%s: unexpected change to %d maps", what, len(s.Maps()))
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no error within 5 s", what)
		}
		return nil
	}
	cc := midiEv(controllers.Control, 0, 1, 127)
	behaviour := func() string { return fmtCmds(live.Load().Apply(cc, nil)) }

	wait("initial load")
	if got := behaviour(); got != "control ch0 k2 1" {
		t.Fatalf("initial: %s", got)
	}
	sess := NewSession(live, nil)
	sess.Apply(midiEv(controllers.NoteOn, 0, 60, 100), nil) // held by the shipped keys map

	// An edit changes the behaviour.
	writeFile(t, user, ccRule(3))
	wait("edit")
	if got := behaviour(); got != "control ch0 k3 1" {
		t.Fatalf("after edit: %s", got)
	}
	// The keys map did not change, so its note keeps sounding.
	if out := sess.Sync(nil); len(out) != 0 || sess.Held() != 1 {
		t.Fatalf("unchanged map released %s, held %d", fmtCmds(out), sess.Held())
	}

	// A syntax error: one log line with file:line:col, the old map plays on.
	writeFile(t, user, "[[rule]]\ncc = 1\nto = { do = \"control\", number = }\n")
	err := waitErr("broken edit")
	wantPrefix := user + ":3:33: "
	if !strings.HasPrefix(err.Error(), wantPrefix) {
		t.Fatalf("error %q, want prefix %q", err, wantPrefix)
	}
	if got := behaviour(); got != "control ch0 k3 1" {
		t.Fatalf("after broken edit: %s, want the old behaviour", got)
	}
	// Touch something else: the same broken bytes are not reported again.
	writeFile(t, filepath.Join(dir, "other.toml"), "")
	wait("other file")
	if n := logs.lines(wantPrefix); n != 1 {
		t.Fatalf("%d log lines with %q, want exactly 1:\n%s", n, wantPrefix, logs.b.String())
	}

	// A semantic error: unknown parameter, at its key.
	writeFile(t, user, "[[rule]]\ncc = 1\nto = { do = \"set\", param = \"filter/cutof\" }\n")
	err = waitErr("semantic error")
	if want := user + `:3:20: unknown parameter "filter/cutof"; did you mean "filter/cutoff"?`; err.Error() != want {
		t.Fatalf("error\n got %s\nwant %s", err, want)
	}
	if got := behaviour(); got != "control ch0 k3 1" {
		t.Fatalf("after semantic error: %s", got)
	}

	// The fix is picked up.
	writeFile(t, user, ccRule(4))
	wait("fix")
	if got := behaviour(); got != "control ch0 k4 1" {
		t.Fatalf("after fix: %s", got)
	}

	// A user file with a shipped name replaces it; removing it brings the
	// shipped map back; the replaced map's note is released.
	writeFile(t, filepath.Join(dir, "keys.toml"), keysV2)
	wait("override")
	if got := fmtCmds(sess.Sync(nil)); got != "note-off ch0 k60 0" {
		t.Fatalf("override released %q", got)
	}
	if got := fmtCmds(live.Load().Apply(midiEv(controllers.NoteOn, 0, 60, 1), nil)); got != "note-on ch0 k72 "+num(1.0/127) {
		t.Fatalf("override: %s", got)
	}
	if err := os.Remove(filepath.Join(dir, "keys.toml")); err != nil {
		t.Fatal(err)
	}
	wait("remove override")
	if got := fmtCmds(live.Load().Apply(midiEv(controllers.NoteOn, 0, 60, 1), nil)); got != "note-on ch0 k60 "+num(1.0/127) {
		t.Fatalf("shipped map back: %s", got)
	}
}

func TestWatchMissingDir(t *testing.T) {
	err := Watch(context.Background(), nil, []string{filepath.Join(t.TempDir(), "nope")}, func(*Set) {}, nil, zerolog.Nop())
	if err == nil || !strings.HasPrefix(err.Error(), "mapping: watching map directory") {
		t.Fatalf("got %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "good.toml"), ccRule(5))
	writeFile(t, filepath.Join(dir, "bad.toml"), "[[rule]]\ncc = 1\nto = { do = \"nope\" }\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "not a map")
	shipped := fstest.MapFS{"keys.toml": {Data: []byte(keysV1)}, "good.toml": {Data: []byte(ccRule(6))}}
	s, err := Load(shipped, dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "bad.toml")+":3:8: unknown do") {
		t.Fatalf("error %v", err)
	}
	var names []string
	for _, m := range s.Maps() {
		names = append(names, m.Name())
	}
	if strings.Join(names, ",") != "good.toml,keys.toml" {
		t.Fatalf("maps %v", names)
	}
	if got := fmtCmds(s.Apply(midiEv(controllers.Control, 0, 1, 127), nil)); got != "control ch0 k5 1" {
		t.Fatalf("the user file should replace the shipped one: %s", got)
	}
	if UserDir("/cfg") != filepath.Join("/cfg", "maps") {
		t.Fatal(UserDir("/cfg"))
	}
}
