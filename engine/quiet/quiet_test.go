package quiet

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The test runs a child so that its fd 2 can be observed from outside.
func TestMain(m *testing.M) {
	if os.Getenv("QUIET_CHILD") == "1" {
		Stderr().WriteString("own-before\n")
		r1 := Silence()
		r2 := Silence() // nested
		os.Stderr.WriteString("noise-1\n")
		r1()
		os.Stderr.WriteString("noise-2\n") // still silenced: r2 holds
		Stderr().WriteString("own-during\n")
		r2()
		r2() // restoring twice is harmless
		os.Stderr.WriteString("fd2-after\n")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSilenceNestsAndRestores(t *testing.T) {
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "QUIET_CHILD=1")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := strings.Fields(string(out))
	want := []string{"own-before", "own-during", "fd2-after"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("child wrote %q, want %q", got, want)
	}
}
