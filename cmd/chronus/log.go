package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal (only an *os.File can be one).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newLogger returns the logger writing to w: human-readable console lines when
// format is "console", or "auto" and w is a terminal; JSON lines otherwise.
// Messages are complete sentences; details go in typed fields.
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q is not one of debug, info, warn, error", level)
	}
	var out io.Writer
	switch format {
	case "auto":
		out = w
		if isTerminal(w) {
			out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
		}
	case "console":
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w)}
	case "json":
		out = w
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q is not one of auto, console, json", format)
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}
