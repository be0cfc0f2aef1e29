package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// workers lists the pids of pid's children running `chronus worker`.
func workers(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if bytes.Contains(cmdline, []byte("worker")) {
			out = append(out, child)
		}
	}
	sort.Ints(out)
	return out
}

// `chronus play --record` gives the same file as `chronus render`, sample for
// sample, also when a worker is SIGKILLed and another SIGSTOPped during the take.
func TestPlayRecordEqualsRender(t *testing.T) {
	in := corpus(t, "test-multichannel-chords-1.mid")
	dir := t.TempDir()
	for _, format := range []string{"f32", "s16"} {
		t.Run(format, func(t *testing.T) {
			want := filepath.Join(dir, "render-"+format+".wav")
			if r := chronus(t, nil, "render", in, "-o", want, "--format", format); r.code != 0 {
				t.Fatalf("render: %s", r.stderr)
			}
			take := filepath.Join(dir, "play-"+format+".wav")
			// The null device waits (bounded) for a late block instead of
			// recording a gap (device.ReadySource), so this checks the
			// failover logic; real-time figures are the benchmarks'.
			cmd := exec.Command(bin, "play", in, "--output", "null", "--record", take, "--record-format", format)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// While the take plays: SIGKILL the first worker (the active one
			// at start), later SIGSTOP the oldest running one.
			var killed, stopped int
			for _, step := range []struct {
				at  time.Duration
				sig syscall.Signal
			}{{1500 * time.Millisecond, syscall.SIGKILL}, {3 * time.Second, syscall.SIGSTOP}} {
				select {
				case err := <-done:
					t.Fatalf("play ended early: %v\n%s", err, stderr.String())
				case <-time.After(time.Until(began.Add(step.at))):
				}
				ws := workers(cmd.Process.Pid)
				if len(ws) == 0 {
					t.Fatalf("no worker processes under play (pid %d)", cmd.Process.Pid)
				}
				if err := syscall.Kill(ws[0], step.sig); err != nil {
					t.Fatal(err)
				}
				if step.sig == syscall.SIGKILL {
					killed = ws[0]
				} else {
					stopped = ws[0]
				}
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("play failed: %v\n%s", err, stderr.String())
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatal("play did not finish")
			}
			if killed == 0 || stopped == 0 || killed == stopped {
				t.Fatalf("faults not injected: killed %d stopped %d", killed, stopped)
			}
			a, _ := os.ReadFile(want)
			b, _ := os.ReadFile(take)
			if !bytes.Equal(a, b) {
				t.Fatalf("play --record (%d bytes) differs from render (%d bytes)\n%s", len(b), len(a), stderr.String())
			}
			if !strings.Contains(stderr.String(), "worker") {
				t.Fatalf("no worker failure was logged:\n%s", stderr.String())
			}
		})
	}
}

// The user's presets reach the live engine's workers exactly as they reach
// render: play --record with a user preset equals render with it.
func TestPlayUsesUserPresets(t *testing.T) {
	in := corpus(t, "test-c-major-scale.mid")
	dir := t.TempDir()
	pd := filepath.Join(dir, "cfg", "presets")
	if err := os.MkdirAll(pd, 0o755); err != nil {
		t.Fatal(err)
	}
	// The scale plays on GM program 0, which the shipped bank maps to "keys".
	os.WriteFile(filepath.Join(pd, "keys.toml"), []byte("[osc1]\nwave = \"square\"\nlevel = 1\n[amp_env]\nsustain = 1\nrelease = 0.05\n[voice]\ngain = 0.2\n"), 0o644)
	cfg := filepath.Join(dir, "cfg")
	plain := filepath.Join(dir, "plain.wav")
	if r := chronus(t, nil, "render", in, "-o", plain); r.code != 0 {
		t.Fatalf("render: %s", r.stderr)
	}
	want := filepath.Join(dir, "render.wav")
	if r := chronus(t, nil, "render", in, "-o", want, "--config", cfg); r.code != 0 {
		t.Fatalf("render: %s", r.stderr)
	}
	take := filepath.Join(dir, "play.wav")
	if r := chronus(t, nil, "play", in, "--output", "null", "--record", take, "--config", cfg); r.code != 0 {
		t.Fatalf("play: %s", r.stderr)
	}
	a, _ := os.ReadFile(want)
	b, _ := os.ReadFile(take)
	p, _ := os.ReadFile(plain)
	if bytes.Equal(a, p) {
		t.Fatal("the user preset did not change the render")
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("play with the user preset (%d bytes) differs from render with it (%d bytes)", len(b), len(a))
	}
}
