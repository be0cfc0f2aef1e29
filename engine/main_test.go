package engine

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// The test binary doubles as the worker: the engine re-executes it with
// CHRONUS_TEST_WORKER=1, as the real binary re-executes `chronus worker`.
// With CHRONUS_TEST_PARENT set it is instead a parent process that runs an
// engine for the parent-death tests (see runTestParent).
func TestMain(m *testing.M) {
	if os.Getenv("CHRONUS_TEST_WORKER") == "1" {
		if err := RunWorker(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if mode := os.Getenv("CHRONUS_TEST_PARENT"); mode != "" {
		os.Exit(runTestParent(mode))
	}
	os.Exit(m.Run())
}

func testWorkerCommand() *exec.Cmd {
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "CHRONUS_TEST_WORKER=1")
	return c
}
