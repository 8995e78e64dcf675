package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

const pageLimit = gatehouse.MaxPageLimit // limit=100

// seeded remembers what the list must show: rows are ranked newest first.
type seeded struct {
	n          int
	page       int              // the deep page timed
	lastRank   int              // rank of the deep page's last row
	cursor     gatehouse.Cursor // the row before the deep page (page > 1)
	firstID    string           // first row of page 1
	deepFirst  string           // first row of the deep page
	midPage    int              // a page halfway to the deep one (0: none)
	midCursor  gatehouse.Cursor // the row before it
	midFirst   string           // its first row
	insertTime time.Duration
	totalTime  time.Duration
	analyze    time.Duration
}

// listPage is a list answer, reduced to what the harness checks.
type listPage struct {
	Data []struct {
		ID string `json:"id"`
	} `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// phaseList is (c): page 1 against page 10,000 of a 1,000,000-invitation
// organization, seeded through the store.
func (h *harness) phaseList(ctx context.Context) error {
	o := h.o
	org, err := h.call(ctx, "POST", "/v1/organizations", h.token, map[string]string{"name": "Bench list"}, 201)
	if err != nil {
		return err
	}
	listOrg, _ := org["id"].(string)
	if listOrg == "" {
		return fmt.Errorf("no organization id in %v", org)
	}
	fmt.Fprintf(h.stdout, "(c) invitation list, %d invitations in one organization, limit=%d, newest first (keyset cursor)\n", o.invitations, pageLimit)

	stop := h.profile("seed")
	sd, err := h.seed(ctx, listOrg)
	stop()
	if err != nil {
		return err
	}
	bo := h.bulkOptions()
	fmt.Fprintf(h.stdout, "    seeded through the store (store.Conn.BulkInsertInvitations: %d rows per INSERT, %d per transaction): %s, %.0f rows/s inserting (%s with generation)\n",
		bo.RowsPerInsert, bo.RowsPerTx, fmtDur(sd.insertTime), float64(sd.n)/sd.insertTime.Seconds(), fmtDur(sd.totalTime))
	if o.analyze {
		fmt.Fprintf(h.stdout, "    ANALYZE invitations: %s\n", fmtDur(sd.analyze))
	}

	if err := h.dailyLimitCost(ctx, listOrg); err != nil {
		return err
	}

	get := func(cursor string) (*listPage, time.Duration, error) {
		return h.getList(ctx, listOrg, cursor)
	}
	// Page 1, fetched once to check it and to start the walk (timed below).
	stop = h.profile("list")
	defer stop()
	p1, _, err := get("")
	if err != nil {
		return err
	}
	if len(p1.Data) != min(pageLimit, sd.n) || p1.Data[0].ID != sd.firstID {
		return fmt.Errorf("page 1: %d rows starting with %s, want %d starting with %s", len(p1.Data), p1.Data[0].ID, min(pageLimit, sd.n), sd.firstID)
	}

	// Walk to the deep page by following next_cursor.
	deepCursor := ""
	walkStart := time.Now()
	var hops []time.Duration
	cur := p1.NextCursor
	reached := 1
	jumped := false
	for page := 2; page <= sd.page; page++ {
		if cur == nil {
			return fmt.Errorf("page %d has no next_cursor; want %d pages", page-1, sd.page)
		}
		if page == sd.page {
			deepCursor = *cur
			break
		}
		if time.Since(walkStart) > o.walkBudget {
			jumped = true
			break
		}
		p, d, err := get(*cur)
		if err != nil {
			return err
		}
		hops = append(hops, d)
		reached = page
		cur = p.NextCursor
	}
	walkTime := time.Since(walkStart)
	want := sd.cursor.Encode()
	if sd.page > 1 && !jumped {
		got, err := gatehouse.DecodeCursor(deepCursor)
		if err != nil || !got.CreatedAt.Equal(sd.cursor.CreatedAt) || got.ID != sd.cursor.ID {
			return fmt.Errorf("the cursor reached by walking (%s) is not the one the seed predicts (%s)", deepCursor, want)
		}
	}
	if jumped {
		deepCursor = want
	}

	// Page 1, the deep page and (for diagnosis) the middle page, timed R
	// times each in rotating order, so that background load weighs on all
	// alike.
	type timed struct {
		name   string
		cursor string
		first  string // id the page must start with
		rows   int
		lat    []time.Duration
	}
	pages := []*timed{
		{name: "page 1", first: sd.firstID, rows: min(pageLimit, sd.n)},
		{name: "page " + strconv.Itoa(sd.page), cursor: deepCursor, first: sd.deepFirst, rows: sd.lastRank - (sd.page-1)*pageLimit + 1},
	}
	if sd.midPage > 1 {
		pages = append(pages, &timed{name: "page " + strconv.Itoa(sd.midPage), cursor: sd.midCursor.Encode(), first: sd.midFirst, rows: pageLimit})
	}
	for r := range o.listRepeats {
		for k := range pages {
			tp := pages[(k+r)%len(pages)]
			p, d, err := get(tp.cursor)
			if err != nil {
				return err
			}
			if len(p.Data) != tp.rows || p.Data[0].ID != tp.first {
				return fmt.Errorf("%s: %d rows starting with %s, want %d starting with %s", tp.name, len(p.Data), p.Data[0].ID, tp.rows, tp.first)
			}
			tp.lat = append(tp.lat, d)
		}
	}
	first, deep := pages[0].lat, pages[1].lat

	if sd.page > 1 {
		hopsSorted := slices.Sorted(slices.Values(hops))
		line := fmt.Sprintf("    walk: followed next_cursor %d times (pages 2–%d) in %s", len(hops)+1, sd.page, fmtDur(walkTime))
		if jumped {
			line = fmt.Sprintf("    walk: stopped at page %d after %s (-walk-budget %s); jumped to page %d with the cursor computed from the seeded rows",
				reached, fmtDur(walkTime), o.walkBudget, sd.page)
		}
		if len(hops) > 0 {
			line += fmt.Sprintf("; per page median %s, p99 %s", fmtDur(median(hopsSorted)), fmtDur(hopsSorted[min(len(hopsSorted)-1, len(hopsSorted)*99/100)]))
		}
		fmt.Fprintln(h.stdout, line)
		if len(hops) >= 20 {
			// Median hop latency per tenth of the walk: flat when paging
			// costs the same at any depth.
			var parts []string
			for d := range 10 {
				lo, hi := d*len(hops)/10, (d+1)*len(hops)/10
				parts = append(parts, fmt.Sprintf("%d–%d: %s", lo+2, hi+1, fmtDur(median(sorted(hops[lo:hi])))))
			}
			fmt.Fprintf(h.stdout, "    walk median latency by pages %s\n", strings.Join(parts, ", "))
		}
	}
	m1, md := median(sorted(first)), median(sorted(deep))
	for i, tp := range pages {
		note := ""
		if i == 2 {
			note = "   (info: the middle of the list)"
		}
		fmt.Fprintf(h.stdout, "    %-12s median of %d: %-9s (min %s, max %s)%s\n", tp.name, len(tp.lat), fmtDur(median(sorted(tp.lat))),
			fmtDur(slices.Min(tp.lat)), fmtDur(slices.Max(tp.lat)), note)
	}
	name := pages[1].name
	ratio := float64(md) / float64(m1)
	pass := ratio <= pageRatioTarget
	fmt.Fprintf(h.stdout, "    %s / page 1 latency ratio %.2f   target ≤ %.2f   %s\n", name, ratio, pageRatioTarget, passMiss(pass))
	if len(pages) > 2 {
		mm := median(sorted(pages[2].lat))
		fmt.Fprintf(h.stdout, "    (info) %s / page 1 latency ratio %.2f", pages[2].name, float64(mm)/float64(m1))
		if sd.page == (sd.n+pageLimit-1)/pageLimit {
			fmt.Fprintf(h.stdout, " — %s is the last page, which a planner may serve differently from the pages before it", name)
		}
		fmt.Fprintln(h.stdout)
	}
	fmt.Fprintln(h.stdout)
	h.verdicts = append(h.verdicts, verdict{fmt.Sprintf("(c) %s ÷ page 1 latency", name),
		fmt.Sprintf("%.2f (%s / %s)", ratio, fmtDur(md), fmtDur(m1)), fmt.Sprintf("≤ %.2f", pageRatioTarget), pass})
	return nil
}

// getList fetches one page of the organization's invitations and times it.
func (h *harness) getList(ctx context.Context, orgID, cursor string) (*listPage, time.Duration, error) {
	u := h.baseURL + "/v1/members/invitations?limit=" + strconv.Itoa(pageLimit)
	if cursor != "" {
		u += "&cursor=" + url.QueryEscape(cursor)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("X-Organization-Id", orgID)
	start := time.Now()
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != 200 {
		return nil, 0, fmt.Errorf("GET %s: status %d: %.300s", u, resp.StatusCode, raw)
	}
	var p listPage
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, 0, err
	}
	if len(p.Data) == 0 {
		return nil, 0, fmt.Errorf("GET %s: empty page", u)
	}
	return &p, d, nil
}

// seed inserts o.invitations invitations into orgID through the store, in
// time order (oldest first, ids UUIDv7) as a real organization accumulates
// them: spread over the last 30 days, each to its own address, all pending
// (most are past their 7-day expiry, which the list shows as expired).
func (h *harness) seed(ctx context.Context, orgID string) (*seeded, error) {
	o := h.o
	n := o.invitations
	pages := (n + pageLimit - 1) / pageLimit
	sd := &seeded{n: n, page: min(o.targetPage, pages)}
	sd.lastRank = min(n, sd.page*pageLimit) - 1
	if sd.page >= 3 {
		sd.midPage = (sd.page + 1) / 2
	}
	bo := h.bulkOptions()
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	tokenSalt := hex.EncodeToString(salt)
	newest := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Minute)
	step := max(time.Microsecond, (30 * 24 * time.Hour / time.Duration(n)).Truncate(time.Microsecond))
	validDays := 7

	grants := []gatehouse.Grant{}
	var genTime time.Duration
	j0 := 0 // next row to generate, in insertion order (oldest first)
	start := time.Now()
	err := h.m.Store.SeedInvitationsFunc(ctx, bo, func(buf []gatehouse.Invitation) int {
		t0 := time.Now()
		defer func() { genTime += time.Since(t0) }()
		k := min(len(buf), n-j0)
		for i := range k {
			j := j0 + i
			rank := n - 1 - j // list order, newest first
			at := newest.Add(-time.Duration(rank) * step)
			id := uuid.Must(uuid.NewV7()).String()
			buf[i] = gatehouse.Invitation{
				ID: id, OrgID: orgID, Email: "seed" + strconv.Itoa(j) + "@bench.example.com", RoleID: gatehouse.RoleViewerID, Grants: grants,
				Authentication: gatehouse.AuthPassword, Status: gatehouse.InvitationPending,
				TokenHash: secret.HashToken(tokenSalt + strconv.Itoa(j)), ValidDays: validDays,
				CreatedBy: h.userID, UpdatedBy: h.userID, CreatedAt: at, UpdatedAt: at,
				ExpiresAt: at.Add(time.Duration(validDays) * 24 * time.Hour), SentAt: at,
			}
			switch rank {
			case 0:
				sd.firstID = id
			case (sd.page-1)*pageLimit - 1:
				sd.cursor = gatehouse.Cursor{CreatedAt: at, ID: id}
			}
			if rank == (sd.page-1)*pageLimit {
				sd.deepFirst = id
			}
			if sd.midPage > 1 {
				switch rank {
				case (sd.midPage-1)*pageLimit - 1:
					sd.midCursor = gatehouse.Cursor{CreatedAt: at, ID: id}
				case (sd.midPage - 1) * pageLimit:
					sd.midFirst = id
				}
			}
		}
		j0 += k
		return k
	})
	if err != nil {
		return nil, fmt.Errorf("seed invitations: %w", err)
	}
	if j0 != n {
		return nil, fmt.Errorf("seed invitations: stopped after %d of %d", j0, n)
	}
	sd.totalTime = time.Since(start)
	sd.insertTime = sd.totalTime - genTime
	if o.analyze {
		t0 := time.Now()
		if err := h.m.Store.Analyze(ctx, "invitations"); err != nil {
			return nil, err
		}
		sd.analyze = time.Since(t0)
	}
	return sd, nil
}

// bulkOptions are the seed's batch sizes, defaults filled in.
func (h *harness) bulkOptions() store.BulkOptions {
	bo := store.BulkOptions{RowsPerInsert: h.o.seedPerStmt, RowsPerTx: h.o.seedPerTx}
	if bo.RowsPerInsert <= 0 {
		bo.RowsPerInsert = h.m.Store.DefaultBulkRows()
	}
	if bo.RowsPerTx <= 0 {
		bo.RowsPerTx = store.SeedInvitationsPerTx
	}
	return bo
}

func sorted(ds []time.Duration) []time.Duration { return slices.Sorted(slices.Values(ds)) }

// median of sorted durations.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if len(ds)%2 == 1 {
		return ds[len(ds)/2]
	}
	return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
}
