package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// newTransport is a keep-alive transport for loopback load: no proxy, no
// compression, no HTTP/2, enough idle connections to keep every one alive.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        max(conns, 32),
		MaxIdleConnsPerHost: max(conns, 32),
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

// target is the request a load phase repeats.
type target struct {
	method string
	url    string
	token  string
	orgID  string // sent as X-Organization-Id when set
	// body returns the body of a worker's seq-th request; it may reuse buf.
	body func(buf []byte, worker, seq int) []byte
	want int
	// fixed or invitePrefix describe body to a load process (loadproc.go).
	fixed        []byte
	invitePrefix string
}

// result is one load phase (or several runs of it, merged).
type result struct {
	ok, failed int
	elapsed    time.Duration
	cpu        time.Duration   // process CPU time used meanwhile (client, server and all; the server's alone when serverOnly)
	clientCPU  time.Duration   // the load process's CPU time (serverOnly runs)
	serverOnly bool            // the client ran in its own process
	lat        []time.Duration // successful requests, sorted
	firstErr   string
}

// merge adds another run of the same phase.
func (r *result) merge(o *result) {
	r.ok += o.ok
	r.failed += o.failed
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.clientCPU += o.clientCPU
	r.serverOnly = r.serverOnly && o.serverOnly
	r.lat = append(r.lat, o.lat...)
	slices.Sort(r.lat)
	if r.firstErr == "" {
		r.firstErr = o.firstErr
	}
}

// cpuPerOp is the process CPU time per successful request.
func (r *result) cpuPerOp() time.Duration {
	if r.ok == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.ok)
}

func (r *result) rps() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// pct is the nearest-rank percentile p (0–100) of the latencies.
func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(float64(len(r.lat))*p/100+0.999999) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

// load runs t from conns goroutines, each with its own client and
// transport, for d; every request's latency is recorded.
func load(ctx context.Context, conns int, d time.Duration, t target) *result {
	ws := make([]workerStats, conns)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second) // bounds a stuck request
	defer cancel()
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	deadline := start.Add(d)
	for w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := &ws[w]
			me.lat = make([]time.Duration, 0, 1<<14)
			tr := newTransport(conns)
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			var buf []byte
			rd := bytes.NewReader(nil)
			for seq := 0; ctx.Err() == nil; seq++ {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				var body io.Reader
				if t.body != nil {
					buf = t.body(buf[:0], w, seq)
					rd.Reset(buf)
					body = rd
				}
				req, err := http.NewRequestWithContext(ctx, t.method, t.url, body)
				if err != nil {
					me.fail(err.Error())
					return
				}
				if body != nil {
					req.ContentLength = int64(len(buf))
					req.Header.Set("Content-Type", "application/json")
				}
				if t.token != "" {
					req.Header.Set("Authorization", "Bearer "+t.token)
				}
				if t.orgID != "" {
					req.Header.Set("X-Organization-Id", t.orgID)
				}
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					me.fail(err.Error())
					continue
				}
				var snippet []byte
				if resp.StatusCode != t.want {
					snippet, _ = io.ReadAll(io.LimitReader(resp.Body, 300))
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat := time.Since(t0)
				if resp.StatusCode != t.want {
					me.fail(fmt.Sprintf("status %d: %s", resp.StatusCode, snippet))
					continue
				}
				me.lat = append(me.lat, lat)
			}
		}()
	}
	wg.Wait()
	r := &result{elapsed: time.Since(start), cpu: processCPU() - cpu0}
	for i := range ws {
		r.lat = append(r.lat, ws[i].lat...)
		r.failed += ws[i].failed
		if r.firstErr == "" {
			r.firstErr = ws[i].firstErr
		}
	}
	r.ok = len(r.lat)
	slices.Sort(r.lat)
	return r
}

// workerStats is what one load goroutine recorded.
type workerStats struct {
	lat      []time.Duration
	failed   int
	firstErr string
}

func (w *workerStats) fail(msg string) {
	w.failed++
	if w.firstErr == "" {
		w.firstErr = msg
	}
}
