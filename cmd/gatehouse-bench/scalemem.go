package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
)

// memSplit says where the process's resident memory is: the Go runtime's
// share (heap, stacks and its own structures, what GOMEMLIMIT bounds), what
// is resident outside it (anonymous memory the Go runtime did not map:
// SQLite's page caches, prepared statements and allocator pools, which
// modernc.org/sqlite maps directly), and file-backed pages (the binary,
// mapped files).
type memSplit struct {
	rss, anon, file int64   // from /proc/self/status
	goRuntime       int64   // Go runtime memory not released to the OS
	goLive          int64   // heap live after the last GC
	gcCPU, allCPU   float64 // CPU seconds spent by the GC, and in all
}

// gcShare is the share of the process's CPU spent in garbage collection
// between two readings.
func gcShare(a, b memSplit) float64 {
	if b.allCPU <= a.allCPU {
		return 0
	}
	return (b.gcCPU - a.gcCPU) / (b.allCPU - a.allCPU)
}

func (m memSplit) outsideGo() int64 { return m.anon - m.goRuntime }

func (m memSplit) String() string {
	return fmt.Sprintf("RSS %s = file %s + anon %s (Go runtime %s, of it heap live %s; outside Go %s)",
		mib(m.rss), mib(m.file), mib(m.anon), mib(m.goRuntime), mib(m.goLive), mib(m.outsideGo()))
}

func readMemSplit() memSplit {
	var m memSplit
	if f, err := os.Open("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			switch k {
			case "VmRSS":
				m.rss = kb << 10
			case "RssAnon":
				m.anon = kb << 10
			case "RssFile", "RssShmem":
				m.file += kb << 10
			}
		}
		f.Close()
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}, {Name: "/gc/heap/live:bytes"},
		{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	m.goRuntime = int64(s[0].Value.Uint64() - s[1].Value.Uint64())
	m.goLive = int64(s[2].Value.Uint64())
	m.gcCPU, m.allCPU = s[3].Value.Float64(), s[4].Value.Float64()
	return m
}

// heapProfile writes the heap's live objects (after a GC) to
// heap-<name>.pprof in -profile-dir, if set.
func heapProfile(o *options, name string) {
	if o.profileDir == "" {
		return
	}
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return
	}
	f, err := os.Create(filepath.Join(o.profileDir, "heap-"+name+".pprof"))
	if err != nil {
		return
	}
	defer f.Close()
	runtime.GC()
	_ = pprof.Lookup("heap").WriteTo(f, 0)
}
