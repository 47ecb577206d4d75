package seeded

import (
	"bytes"
	"testing"
)

// TestStreams: one seed and purpose give the same stream every time;
// another purpose or seed, or no seed, another one.
func TestStreams(t *testing.T) {
	draw := func(s *Source) []byte {
		b := make([]byte, 32)
		s.Read(b)
		return b
	}
	a := draw(New("replay-1", PurposeDCVValue))
	for _, tc := range []struct {
		name string
		src  *Source
		same bool
	}{
		{"same seed and purpose", New("replay-1", PurposeDCVValue), true},
		{"same through For", For("replay-1", PurposeDCVValue), true},
		{"another purpose", New("replay-1", PurposeSerialPrefix), false},
		{"another seed", New("replay-2", PurposeDCVValue), false},
		{"no seed", For("", PurposeDCVValue), false},
	} {
		if got := draw(tc.src); bytes.Equal(got, a) != tc.same {
			t.Errorf("%s: equal = %v, want %v", tc.name, !tc.same, tc.same)
		}
	}
	s := New("x", PurposeFaults)
	for range 1000 {
		if f := s.Float64(); f < 0 || f >= 1 {
			t.Fatalf("Float64 = %v", f)
		}
	}
}
