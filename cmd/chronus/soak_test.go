package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	goosc "github.com/hypebeast/go-osc/osc"
)

// BenchmarkRecordingSoak records `chronus run` on the null device for
// CHRONUS_SOAK (default 5 s; `make soak` uses 10m) while an OSC client plays
// a steady stream of notes and controller moves, then reports the frames the
// recorder dropped (goal 0) and the file's length against the time recorded.
func BenchmarkRecordingSoak(b *testing.B) {
	d := 5 * time.Second
	if v := os.Getenv("CHRONUS_SOAK"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < b.N; i++ {
		in := startInstrument(b)
		c := goosc.NewClient("127.0.0.1", in.port)
		began := time.Now()
		msgs := 0
		for k := 0; time.Since(began) < d; k++ {
			c.Send(goosc.NewMessage("/mod/filter/cutoff", float32(300+k%4000)))
			c.Send(goosc.NewMessage("/4/multitoggle/1/"+fmt.Sprint(1+k%8), float32(k%2)))
			msgs += 2
			time.Sleep(5 * time.Millisecond)
		}
		recorded := time.Since(began).Seconds()
		var dropped float64 = -1
		in.terminateQuiet()
		for m := range in.logs {
			if m["message"] == "Recording stopped." {
				dropped, _ = m["dropped_frames"].(float64)
			}
		}
		st, err := os.Stat(in.take)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(dropped, "dropped-frames")
		b.ReportMetric(float64(st.Size())/recorded/1e6, "MB/s")
		b.ReportMetric(float64(msgs)/recorded, "osc-msgs/s")
		b.ReportMetric(recorded, "seconds")
		if dropped != 0 {
			b.Errorf("the recorder dropped %v frames in %.0f s", dropped, recorded)
		}
	}
}
