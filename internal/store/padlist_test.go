package store

import "testing"

// TestPadList: lists grow to the next power of two with their last element
// repeated (empty ones, powers of two and lists of 256 or more as they are),
// so that inList's statements of 3 and 4 ids share one text.
func TestPadList(t *testing.T) {
	for _, tt := range []struct{ n, want int }{{0, 0}, {1, 1}, {2, 2}, {3, 4}, {5, 8}, {8, 8}, {129, 256}, {255, 256}, {256, 256}, {300, 300}} {
		xs := make([]int, tt.n)
		for i := range xs {
			xs[i] = i
		}
		got := padList(xs)
		if len(got) != tt.want {
			t.Fatalf("padList of %d: %d long, want %d", tt.n, len(got), tt.want)
		}
		for i, v := range got {
			if v != xs[min(i, tt.n-1)] {
				t.Fatalf("padList of %d: element %d is %d", tt.n, i, v)
			}
		}
	}
	q3, a3 := inList("x IN ", nil, []string{"a", "b", "c"})
	q4, _ := inList("x IN ", nil, []string{"a", "b", "c", "d"})
	if q3 != q4 || len(a3) != 4 || a3[3] != "c" {
		t.Fatalf("inList: %q with %v, and %q", q3, a3, q4)
	}
}
