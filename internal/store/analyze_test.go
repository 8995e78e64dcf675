package store_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// TestAnalyzeKeepsCountsNotSamples: on SQLite, Analyze leaves the per-index
// row counts (sqlite_stat1) and no value samples (sqlite_stat4), which would
// make every prepared look-up be planned again at each new bound value.
func TestAnalyzeKeepsCountsNotSamples(t *testing.T) {
	st := storetest.SQLite().Open(t)
	ctx := context.Background()
	if err := st.SeedOrgs(ctx, store.OrgSeed{To: 200, Members: 3, Projects: 5, Folders: 20, Now: store.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.Analyze(ctx, "organizations", "memberships", "folders"); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		var n int
		if err := st.WriterDB().QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'folders'`); n == 0 {
		t.Error("no row counts for folders after Analyze")
	}
	if n := count(`SELECT count(*) FROM sqlite_stat4`); n != 0 {
		t.Errorf("sqlite_stat4 holds %d samples after Analyze", n)
	}
	// Twice in a row is fine (the table exists, empty).
	if err := st.Analyze(ctx, "folders"); err != nil {
		t.Fatal(err)
	}
}
