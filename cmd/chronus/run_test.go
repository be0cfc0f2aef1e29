package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runArgs keep `chronus run` off the network and the MIDI ports, so that it
// can run beside other tests.
var runArgs = []string{"run", "--output", "null", "--no-midi", "--no-osc", "--log-format", "json"}

// workersOf lists the live processes running this test's chronus binary as
// `chronus worker` (zombies excluded: they have ended). Only this test's
// binary has its path, so other programs' workers never count.
func workersOf(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cl, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cl), "\x00"), "\x00")
		if len(args) < 2 || args[1] != "worker" || (args[0] != bin && args[0] != "/proc/self/exe") {
			continue
		}
		if args[0] == "/proc/self/exe" {
			// Started through /proc/self/exe: check what it runs.
			if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err != nil || exe != bin {
				continue
			}
		}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// waitNoWorkers waits, generously (only the outcome is asserted), until no
// worker of this binary is left.
func waitNoWorkers(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := workersOf(t)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker processes %v outlived chronus run", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunForADurationExitsCleanly(t *testing.T) {
	waitNoWorkers(t)
	r := chronus(t, nil, append(runArgs, "--duration", "1s")...)
	if r.code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"The engine started two workers in lockstep.", "Chronus is playing.", "Chronus is stopping after the requested duration."} {
		if !bytes.Contains(r.stderr, []byte(want)) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	waitNoWorkers(t)
}

func TestRunStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			waitNoWorkers(t)
			cmd := exec.Command(bin, runArgs...)
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, envPrefix) {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			var log bytes.Buffer
			lines := bufio.NewScanner(io.TeeReader(stderr, &log))
			playing := false
			for !playing && lines.Scan() {
				playing = strings.Contains(lines.Text(), "Chronus is playing.")
			}
			if !playing {
				_ = cmd.Wait()
				t.Fatalf("chronus run never started playing:\n%s", log.String())
			}
			// Three workers (active, standby, spare) run before the signal.
			deadline := time.Now().Add(20 * time.Second)
			for len(workersOf(t)) < 3 {
				if time.Now().After(deadline) {
					t.Fatalf("workers %v, want 3", workersOf(t))
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			go io.Copy(&log, stderr) // drain the rest while it stops
			_ = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Fatalf("exit status %d (%v) after %v; stderr:\n%s", code, cmd.ProcessState, sig, log.String())
			}
			waitNoWorkers(t)
		})
	}
}
