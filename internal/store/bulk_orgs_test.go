package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// BenchmarkSeedOrgs measures Store.SeedOrgs in the scale run's shape (an
// owner and three members with grants, five projects, twenty folders and
// one session per organization), 2,000 organizations per operation into one
// growing database; it reports organizations per second. -benchtime=10x
// seeds 20,000.
func BenchmarkSeedOrgs(b *testing.B) {
	const per = 2000
	for _, e := range storetest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			ctx := context.Background()
			st := e.Open(b)
			now := store.Now()
			b.ResetTimer()
			for i := range b.N {
				if err := st.SeedOrgs(ctx, store.OrgSeed{From: i * per, To: (i + 1) * per, Members: 3, Projects: 5, Folders: 20,
					Sessions: 1, TokenHash: secret.HashToken, Now: now}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "orgs/s")
		})
	}
}

// seedTables are the tables SeedOrgs writes, with their columns.
var seedTables = []struct{ name, cols string }{
	{"users", "id, email, email_norm, name, password_hash, email_verified, avatar, avatar_type, avatar_version, current_org_id, created_at, updated_at"},
	{"organizations", "id, name, logo_url, settings, created_by, created_at, updated_at"},
	{"memberships", "id, org_id, user_id, role_id, grants, invited_by, created_at, updated_at"},
	{"projects", "id, org_id, name, description, settings, created_at, updated_at"},
	{"folders", "id, org_id, project_id, parent_id, name, created_at, updated_at"},
	{"sessions", "id, user_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, ip, user_agent, created_at, last_used_at"},
}

// seedDigest is the SHA-256 of every row of seedTables, in id order, each
// value printed the same way on both engines (booleans as 0/1, NULL as \N).
func seedDigest(t *testing.T, st *store.Store) (string, int) {
	t.Helper()
	h := sha256.New()
	n := 0
	for _, tb := range seedTables {
		rows, err := st.ReaderDB().Query("SELECT " + tb.cols + " FROM " + tb.name + " ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := storetest.ScanAny(rows)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprint(h, tb.name)
			for _, v := range vals {
				switch x := v.(type) {
				case nil:
					v = `\N`
				case []byte:
					v = string(x)
				case bool:
					v = 0
					if x {
						v = 1
					}
				}
				fmt.Fprintf(h, "\t%v", v)
			}
			fmt.Fprintln(h)
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// TestSeedIDs checks the seed's hand-written formatting against fmt's, up
// to the indexes of a million organizations.
func TestSeedIDs(t *testing.T) {
	for _, i := range []int{0, 1, 15, 16, 4095, 99_999, 1_000_000, 1 << 40} {
		if got, want := store.SeedFolderID(i, 255), fmt.Sprintf("5eed%04x-0000-4000-8000-%012x", 4, i*256+255); got != want {
			t.Errorf("SeedFolderID(%d, 255) = %s, want %s", i, got, want)
		}
		if got, want := store.SeedToken(i), fmt.Sprintf("gh_at_seed%054d", i); got != want {
			t.Errorf("SeedToken(%d) = %s, want %s", i, got, want)
		}
	}
}

// TestSeedOrgsRows pins what SeedOrgs writes on both engines: the same rows
// (ids, grants, folder tree, session token hashes) as the row-by-row
// INSERTs it used before the bulk paths (COPY, multi-row INSERTs without
// foreign-key checks), whose output the digest was taken from; the data
// keeps its foreign keys; and the writer's settings come back afterwards.
func TestSeedOrgsRows(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 123456000, time.UTC)
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := e.Open(t)
			if err := st.SeedOrgs(ctx, store.OrgSeed{From: 0, To: 7, Members: 5, Projects: 2, Folders: 9, Sessions: 2,
				TokenHash: secret.HashToken, Now: now, OrgsPerTx: 3}); err != nil {
				t.Fatal(err)
			}
			// A write that arrives during the load waits for it, then runs.
			wrote := make(chan error, 1)
			go func() {
				wrote <- st.Tx(ctx, func(tx *store.Conn) error {
					return tx.SetOrgSetting(ctx, store.SeedOrgID(0), "k", 1)
				})
			}()
			if err := st.SeedOrgs(ctx, store.OrgSeed{From: 7, To: 10, Members: 3, Projects: 5, Folders: 20, Sessions: 1,
				TokenHash: secret.HashToken, Now: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
			if _, err := st.WriterDB().Exec(`UPDATE organizations SET settings = '{}' WHERE id = $1`, store.SeedOrgID(0)); err != nil {
				t.Fatal(err)
			}
			// Loaded without foreign-key checks (SQLite; PostgreSQL as a
			// superuser), the rows still reference existing ones.
			var dangling int
			if err := st.ReaderDB().QueryRow(`SELECT
				(SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id)) +
				(SELECT count(*) FROM memberships m WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.user_id)
					OR NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = m.org_id)) +
				(SELECT count(*) FROM projects p WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = p.org_id)) +
				(SELECT count(*) FROM folders f WHERE NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = f.org_id)
					OR NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = f.project_id AND p.org_id = f.org_id)
					OR (f.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM folders g WHERE g.id = f.parent_id AND g.project_id = f.project_id)))`).Scan(&dangling); err != nil {
				t.Fatal(err)
			}
			if dangling != 0 {
				t.Errorf("%d rows reference missing rows", dangling)
			}
			if e.Name == "sqlite" {
				// The writer's settings are back, and SQLite's own check
				// agrees.
				for p, want := range map[string]int{"foreign_keys": 1, "synchronous": 1, "cache_size": -2000} {
					var v int
					if err := st.WriterDB().QueryRow("PRAGMA " + p).Scan(&v); err != nil || v != want {
						t.Errorf("PRAGMA %s = %d (%v), want %d", p, v, err, want)
					}
				}
				rows, err := st.WriterDB().Query("PRAGMA foreign_key_check")
				if err != nil {
					t.Fatal(err)
				}
				if rows.Next() {
					t.Error("foreign_key_check reports dangling references")
				}
				rows.Close()
			}
			// Taken from the row-by-row seed (commit 4272a65), identical on
			// both engines.
			const want = "3f7a3005c390fd05f752ec015b7bd4038c12715670fd7b309abcc201e714fc12"
			if digest, n := seedDigest(t, st); n != 287 || digest != want {
				t.Fatalf("seeded %d rows, digest %s; want 287 rows, digest %s", n, digest, want)
			}
		})
	}
}
