package store_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// growing are the tables that grow with organizations or users: a full scan
// of any of them on a hot path is a latency cliff at scale.
var growing = map[string]bool{"users": true, "organizations": true, "memberships": true, "projects": true,
	"folders": true, "sessions": true, "api_keys": true, "invitations": true, "roles": true, "audit_events": true,
	"outbox": true, "otps": true, "used_refresh_tokens": true, "reset_tokens": true, "invitation_quota": true, "audit_chains": true,
	"user_totp": true, "recovery_codes": true, "mfa_challenges": true, "org_mfa_policy": true,
	"passkeys": true, "webauthn_challenges": true}

type recorded struct {
	path, query string
	args        []any
}

// TestHotPathPlans drives the hot paths through the services over seeded
// data — permission check (API key and session), sign-in, session and key
// look-up, member list, invitation list and creation — records every query they run,
// and asks the engine for each one's plan (EXPLAIN QUERY PLAN on SQLite;
// EXPLAIN with sequential scans disabled on PostgreSQL, so a Seq Scan means
// no usable index). Any full scan of a growing table fails.
func TestHotPathPlans(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			st := e.Open(t)
			now := store.Now()
			if err := st.SeedOrgs(ctx, store.OrgSeed{To: 300, Members: 3, Projects: 5, Folders: 20,
				Sessions: 4, TokenHash: secret.HashToken, Now: now}); err != nil {
				t.Fatal(err)
			}
			hasher := secret.NewHasher(secret.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 2)
			hash, err := hasher.Hash(ctx, "a long passphrase")
			if err != nil {
				t.Fatal(err)
			}
			org := store.SeedOrgID(7)
			signer := &gatehouse.User{ID: "0000aaaa-0000-4000-8000-000000000001", Email: "signer@example.com", Name: "Signer",
				PasswordHash: hash, EmailVerified: true, CreatedAt: now}
			var invs []*gatehouse.Invitation
			for i := range 50 {
				invs = append(invs, &gatehouse.Invitation{ID: store.SeedUserID(900000 + i), OrgID: org, Email: "inv" + itoa(i) + "@example.com",
					RoleID: "viewer", TokenHash: secret.HashToken("inv" + itoa(i)), ValidDays: 7, CreatedBy: store.SeedUserID(7 * store.SeedUsersPerOrg),
					CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(7 * 24 * time.Hour), SentAt: now})
			}
			if err := st.Tx(ctx, func(tx *store.Conn) error {
				if err := tx.CreateUser(ctx, signer); err != nil {
					return err
				}
				for i := range 300 { // custom roles, so that the planner knows the table has rows
					if err := tx.CreateRole(ctx, store.SeedOrgID(i), store.SeedUserID(i*store.SeedUsersPerOrg), &gatehouse.Role{
						ID: store.SeedUserID(800000 + i), Name: "editor", Grants: []gatehouse.Grant{}, CreatedAt: now, UpdatedAt: now}); err != nil {
						return err
					}
				}
				return tx.BulkInsertInvitations(ctx, invs)
			}); err != nil {
				t.Fatal(err)
			}
			if err := st.Analyze(ctx, "users", "organizations", "memberships", "projects", "folders", "sessions", "invitations", "api_keys", "roles"); err != nil {
				t.Fatal(err)
			}
			svc := service.New(st, service.Config{Hasher: hasher, Key: storetest.MustKey(t)})
			actor := gatehouse.Actor{IP: "192.0.2.1"}
			// The observer also sees the background audit linker's queries
			// (PostgreSQL links the chain after commit), so it and the test
			// share got and path under a lock.
			var (
				mu   sync.Mutex
				got  []recorded
				path string
			)
			st.Observe(func(q string, args []any) {
				mu.Lock()
				got = append(got, recorded{path, q, append([]any(nil), args...)})
				mu.Unlock()
			})
			at := func(p string) { mu.Lock(); path = p; mu.Unlock() }

			at("sign-in")
			if _, _, err := svc.Auth.Login(ctx, actor, signer.Email, "a long passphrase"); err != nil {
				t.Fatal(err)
			}
			at("session look-up")
			owner := 7 * store.SeedUsersPerOrg
			p, err := svc.Auth.Authenticate(ctx, store.SeedToken(owner))
			if err != nil {
				t.Fatal(err)
			}
			at("check (session, current organization)")
			if _, err := svc.Access.Caller(ctx, actor, p, ""); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("no current organization: %v", err)
			}
			at("check (session)")
			c, err := svc.Access.Caller(ctx, actor, p, org)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Members.Check(ctx, c, []service.CheckInput{{EntityType: "folders", EntityID: store.SeedFolderID(7, 3), Name: "folders", Action: "write"}}, "checks"); err != nil {
				t.Fatal(err)
			}
			at("member list")
			if _, err := svc.Members.List(ctx, c, "", gatehouse.PageRequest{Limit: 25}); err != nil {
				t.Fatal(err)
			}
			at("invitation list")
			if _, err := svc.Invitations.List(ctx, c, "", "", gatehouse.PageRequest{Limit: 25}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Invitations.List(ctx, c, "pending", "", gatehouse.PageRequest{Limit: 25}); err != nil {
				t.Fatal(err)
			}
			at("invitation creation")
			if _, err := svc.Invitations.Create(ctx, c, service.InviteInput{Email: "plan@example.com", Role: "viewer"}); err != nil {
				t.Fatal(err)
			}
			at("key creation")
			_, keySecret, err := svc.Keys.Create(ctx, c, service.KeyInput{Name: "plan", GrantsSet: true, Grants: []gatehouse.Grant{
				{EntityType: "projects", EntityID: store.SeedProjectID(7, 1), Name: "full-access", Action: "write+read+delete", Permission: []gatehouse.AreaGrant{}}}})
			if err != nil {
				t.Fatal(err)
			}
			fresh := service.New(st, service.Config{Hasher: hasher, Key: storetest.MustKey(t)}) // cold caches
			at("key look-up")
			kp, err := fresh.Keys.Authenticate(ctx, keySecret)
			if err != nil {
				t.Fatal(err)
			}
			at("check (API key)")
			if _, err := fresh.Access.Caller(ctx, actor, kp, ""); err != nil {
				t.Fatal(err)
			}
			st.Observe(nil)

			// The detector itself: a look-up by an unindexed column is a scan.
			if fullScan(e.Name, explain(t, st, e.Name, recorded{"probe", `SELECT id FROM folders WHERE updated_at = $1`, []any{int64(1)}})) != "folders" {
				t.Fatalf("the plan check does not see a full scan:\n%s", explain(t, st, e.Name, recorded{"probe", `SELECT id FROM folders WHERE updated_at = $1`, []any{int64(1)}}))
			}
			checked := 0
			st.Observe(nil)
			mu.Lock()
			recordedQueries := append([]recorded(nil), got...)
			mu.Unlock()
			for _, r := range recordedQueries {
				verb := strings.ToUpper(strings.Fields(strings.TrimSpace(r.query))[0])
				if verb != "SELECT" && verb != "UPDATE" && verb != "DELETE" && verb != "WITH" {
					continue
				}
				if strings.Contains(r.query, "pg_notify") {
					continue
				}
				checked++
				plan := explain(t, st, e.Name, r)
				if table := fullScan(e.Name, plan); table != "" {
					t.Errorf("%s: full scan of %s:\n%s\nplan:\n%s", r.path, table, oneLine(r.query), plan)
				}
			}
			if checked < 10 {
				t.Fatalf("only %d queries recorded", checked)
			}
			t.Logf("%d hot-path queries use indexes", checked)
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

func explain(t *testing.T, st *store.Store, engine string, r recorded) string {
	ctx := context.Background()
	tx, err := st.WriterDB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	prefix := "EXPLAIN QUERY PLAN "
	if engine == "postgres" {
		prefix = "EXPLAIN "
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := tx.QueryContext(ctx, prefix+r.query, r.args...)
	if err != nil {
		t.Fatalf("%s: explain %s: %v", r.path, oneLine(r.query), err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		vals, err := storetest.ScanAny(rows)
		if err != nil {
			t.Fatal(err)
		}
		line := vals[len(vals)-1]
		switch v := line.(type) {
		case []byte:
			lines = append(lines, string(v))
		case string:
			lines = append(lines, v)
		}
	}
	return strings.Join(lines, "\n")
}

var (
	sqliteScan = regexp.MustCompile(`(?m)^\s*SCAN (\w+)`)
	pgScanNode = regexp.MustCompile(`(Seq Scan|Index Scan|Index Only Scan) (?:using \w+ )?on (\w+)|Bitmap Index Scan on (\w+)`)
)

// fullScan names a growing table the plan reads whole, or "". On
// PostgreSQL that is a Seq Scan, or an index scan without an Index Cond (a
// walk of the whole index, which disabling sequential scans may choose).
func fullScan(engine, plan string) string {
	if engine != "postgres" {
		for _, m := range sqliteScan.FindAllStringSubmatch(plan, -1) {
			if growing[m[1]] {
				return m[1]
			}
		}
		return ""
	}
	lines := strings.Split(plan, "\n")
	for i, line := range lines {
		m := pgScanNode.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		table := m[2]
		if m[3] != "" {
			table = "index " + m[3]
		}
		if m[1] == "Seq Scan" {
			if growing[table] {
				return table
			}
			continue
		}
		if m[3] == "" && !growing[table] {
			continue
		}
		cond := false
		for _, d := range lines[i+1:] {
			if strings.Contains(d, "->") {
				break
			}
			cond = cond || strings.Contains(d, "Index Cond:")
		}
		if !cond {
			return table
		}
	}
	return ""
}
