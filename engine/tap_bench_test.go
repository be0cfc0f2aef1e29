package engine

import "testing"

// BenchmarkTapWrite is the time the output tap adds to the callback for one
// 128-frame buffer, with a consumer keeping up (the recorder's case).
func BenchmarkTapWrite(b *testing.B) {
	t := NewTap(1 << 18)
	t.Enable(true)
	l, r := make([]float32, 128), make([]float32, 128)
	dst := make([]float32, 2*4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.Write(l, r)
		if i%16 == 15 {
			b.StopTimer()
			t.Read(dst)
			b.StartTimer()
		}
	}
}
