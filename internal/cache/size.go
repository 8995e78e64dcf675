package cache

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// ParseSize reads a byte count with a unit: "64MiB", "1GiB", "512KiB",
// "1000000" (bytes); KB, MB and GB are powers of ten.
func ParseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := uint64(1)
	for _, u := range units {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("must be a size with a unit, like 64MiB or 1GiB (got %q)", s)
	}
	if n > (1<<63)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	if n*mult < 1<<20 {
		return 0, fmt.Errorf("must be at least 1MiB (got %q)", s)
	}
	return n * mult, nil
}

// AllocSize is the memory of an allocation of n bytes, for weighers: n
// rounded up to the Go allocator's size classes (16-byte steps up to 128
// bytes, then steps of about an eighth of the size).
func AllocSize(n int) int {
	if n <= 0 {
		return 0
	}
	if n <= 128 {
		return (n + 15) &^ 15
	}
	step := 1 << (bits.Len(uint(n)) - 4) // an eighth of the power of two below n
	return (n + step - 1) &^ (step - 1)
}
