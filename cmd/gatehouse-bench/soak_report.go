package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/http/middleware"
)

func accessLogName(m middleware.AccessLogMode) string {
	return map[middleware.AccessLogMode]string{middleware.AccessLogSampled: "sampled", middleware.AccessLogAll: "all", middleware.AccessLogErrors: "errors"}[m]
}

// slope is the least-squares slope of ys against xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// soakSummary prints each figure's slope per minute over the run (the first
// interval left out: it includes warming caches and pools), and the
// database's growth per thousand writes.
func (h *harness) soakSummary(rows []soakRow, dbStart float64) {
	if len(rows) == 0 {
		return
	}
	steady := rows
	if len(rows) > 2 {
		steady = rows[1:]
	}
	var xs []float64
	for _, r := range steady {
		xs = append(xs, r.at.Minutes())
	}
	series := func(f func(r soakRow) float64) []float64 {
		var ys []float64
		for _, r := range steady {
			ys = append(ys, f(r))
		}
		return ys
	}
	w := h.stdout
	fmt.Fprintf(w, "\nslopes per minute (least squares over minutes %.1f–%.1f):\n", xs[0], xs[len(xs)-1])
	fmt.Fprintf(w, "  RSS %+.2f MiB, goroutines %+.2f, open files %+.2f, DB %+.2f MiB, WAL %+.2f MiB, log %+.2f MiB\n",
		slope(xs, series(func(r soakRow) float64 { return r.rss })),
		slope(xs, series(func(r soakRow) float64 { return float64(r.goroutines) })),
		slope(xs, series(func(r soakRow) float64 { return float64(r.fds) })),
		slope(xs, series(func(r soakRow) float64 { return r.db })),
		slope(xs, series(func(r soakRow) float64 { return r.wal })),
		slope(xs, series(func(r soakRow) float64 { return r.logs })))
	for _, k := range soakKinds {
		var kx, p50, p99 []float64
		for _, r := range steady {
			if v, ok := r.p50[k.name]; ok {
				kx, p50, p99 = append(kx, r.at.Minutes()), append(p50, v), append(p99, r.p99[k.name])
			}
		}
		if len(kx) == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-12s p50 %6.2f → %6.2f ms (slope %+.3f ms/min), p99 %6.2f → %6.2f ms (slope %+.3f ms/min)\n", k.name,
			p50[0], p50[len(p50)-1], slope(kx, p50), p99[0], p99[len(p99)-1], slope(kx, p99))
	}
	last := rows[len(rows)-1]
	reqs, fail5, fails := 0, 0, 0
	for _, r := range rows {
		reqs, fail5, fails = reqs+r.reqs, fail5+r.fail5, fails+r.fails
	}
	fmt.Fprintf(w, "totals: %d requests (%.0f/s), %d answered 5xx, %d other failures; %d writes\n",
		reqs, float64(reqs)/last.at.Seconds(), fail5, fails, last.writes)
	if last.writes > 0 {
		fmt.Fprintf(w, "database: %.1f MiB at the start, %.1f MiB at the end: %.1f KiB per 1,000 writes; log %.1f MiB (%.0f bytes per request)\n",
			dbStart/(1<<20), last.db, (last.db*(1<<20)-dbStart)/float64(last.writes)*1000/1024, last.logs, last.logs*(1<<20)/float64(max(reqs, 1)))
	}
}

// soakVerify lists every invitation and member through the API and checks
// that what the client created, accepted, revoked and removed is so.
func (h *harness) soakVerify(ctx context.Context, st *soakState) error {
	c := &http.Client{Timeout: time.Minute, Transport: newTransport(1)}
	defer c.CloseIdleConnections()
	walk := func(path string, key string) (map[string]string, error) {
		got := map[string]string{}
		cursor := ""
		for {
			p := path + "?limit=100"
			if cursor != "" {
				p += "&cursor=" + cursor
			}
			status, out, err := h.soakCall(ctx, c, "GET", p, st.token(), nil)
			if err != nil || status != 200 {
				return nil, fmt.Errorf("GET %s: %d %v", p, status, err)
			}
			data, _ := out["data"].([]any)
			for _, d := range data {
				m, _ := d.(map[string]any)
				id, _ := m[key].(string)
				s, _ := m["status"].(string)
				got[id] = s
			}
			next, _ := out["next_cursor"].(string)
			if next == "" {
				return got, nil
			}
			cursor = next
		}
	}
	invs, err := walk("/v1/members/invitations", "id")
	if err != nil {
		return err
	}
	members, err := walk("/v1/members", "user_id")
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	var lost []string
	for id, want := range st.invites {
		got, ok := invs[id]
		if !ok || got != want {
			lost = append(lost, fmt.Sprintf("invitation %s: %q, want %q", id, got, want))
		}
	}
	in, out := 0, 0
	for uid, joined := range st.joined {
		_, ok := members[uid]
		if joined {
			in++
		} else {
			out++
		}
		if ok != joined {
			lost = append(lost, fmt.Sprintf("member %s: listed %v, want %v", uid, ok, joined))
		}
	}
	status, verify, err := h.soakCall(ctx, c, "GET", "/v1/audits/verify", st.token(), nil)
	fmt.Fprintf(h.stdout, "lost-writes check: %d invitations created (all listed with the status the client left: %v), %d members joined and listed, %d removed and absent; %d mismatches\n",
		len(st.invites), len(lost) == 0, in, out, len(lost))
	for _, l := range lost[:min(len(lost), 10)] {
		fmt.Fprintln(h.stdout, "  LOST:", l)
	}
	fmt.Fprintf(h.stdout, "audit chain: GET /v1/audits/verify → %d %s %v\n", status, strings.TrimSpace(fmt.Sprint(verify)), err)
	return nil
}
