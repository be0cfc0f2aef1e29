package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A preset in the user's --config directory replaces the shipped one of the
// same name; a broken one is one error line with file:line:col.
func TestUserPresetsOverride(t *testing.T) {
	in := corpus(t, "test-c-major-scale.mid")
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.wav")
	if r := chronus(t, nil, "render", in, "-o", plain, "--patch", "organ", "--config", dir); r.code != 0 {
		t.Fatalf("plain render failed: %s", r.stderr)
	}
	pd := filepath.Join(dir, "presets")
	if err := os.MkdirAll(pd, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(pd, "organ.toml"), []byte("[osc1]\nwave = \"square\"\nlevel = 1\n[amp_env]\nsustain = 1\n[voice]\ngain = 0.2\n"), 0o644)
	custom := filepath.Join(dir, "custom.wav")
	if r := chronus(t, nil, "render", in, "-o", custom, "--patch", "organ", "--config", dir); r.code != 0 {
		t.Fatalf("render with a user preset failed: %s", r.stderr)
	}
	a, _ := os.ReadFile(plain)
	b, _ := os.ReadFile(custom)
	if bytes.Equal(a, b) {
		t.Fatal("the user's organ.toml did not change the sound")
	}
	// A user preset with a new name is selectable too.
	os.WriteFile(filepath.Join(pd, "mine.toml"), []byte("[osc1]\nwave = \"triangle\"\nlevel = 1\n[voice]\ngain = 0.3\n"), 0o644)
	if r := chronus(t, nil, "render", in, "-o", filepath.Join(dir, "mine.wav"), "--patch", "mine", "--config", dir); r.code != 0 {
		t.Fatalf("render with a new user preset failed: %s", r.stderr)
	}

	os.WriteFile(filepath.Join(pd, "organ.toml"), []byte("[osc1]\nwave = \"sawx\"\n"), 0o644)
	r := chronus(t, nil, "render", in, "-o", filepath.Join(dir, "broken.wav"), "--config", dir)
	if r.code == 0 {
		t.Fatal("a broken preset file did not fail the render")
	}
	lines := logLines(t, r.stderr)
	if len(lines) != 1 {
		t.Fatalf("want one error line, got %d: %s", len(lines), r.stderr)
	}
	if msg, _ := lines[0]["error"].(string); !strings.Contains(msg, filepath.Join(pd, "organ.toml")+":2:1:") {
		t.Fatalf("error %q does not name file:line:col", msg)
	}
	if _, err := os.Stat(filepath.Join(dir, "broken.wav")); err == nil {
		t.Fatal("an output file was left after the error")
	}
}
