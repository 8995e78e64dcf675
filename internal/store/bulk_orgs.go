package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// OrgSeed describes organizations to bulk-load for scale runs and tests
// (cmd/gatehouse-bench -scale, the bounded-cache tests). Ids are
// deterministic from an organization's index (SeedOrgID, SeedUserID…), so a
// load generator can address any seeded organization without reading back.
type OrgSeed struct {
	From, To int // organization indexes [From, To)
	// Per organization: an owner plus Members others (user indexes
	// org*SeedUsersPerOrg + 0…Members), Projects projects and Folders folders
	// spread over them in chains of four.
	Members, Projects, Folders int
	// Sessions gives the first Sessions users of each organization (the
	// owner first) one live session whose access token is SeedToken(user
	// index); TokenHash hashes it as sessions store it.
	Sessions  int
	TokenHash func(token string) string
	Now       time.Time
	// OrgsPerTx is how many organizations one transaction carries (default 2,000).
	OrgsPerTx int
}

// SeedUsersPerOrg spaces user indexes: organization i's users are
// i*SeedUsersPerOrg + k.
const SeedUsersPerOrg = 8

func seedID(kind, n int) string { return fmt.Sprintf("5eed%04x-0000-4000-8000-%012x", kind, n) }

// SeedOrgID is the id of seeded organization i.
func SeedOrgID(i int) string { return seedID(1, i) }

// SeedUserID is the id of seeded user u (organization u/SeedUsersPerOrg).
func SeedUserID(u int) string { return seedID(2, u) }

// SeedProjectID is project p of seeded organization i.
func SeedProjectID(i, p int) string { return seedID(3, i*64+p) }

// SeedFolderID is folder f of seeded organization i.
func SeedFolderID(i, f int) string { return seedID(4, i*256+f) }

// SeedToken is the access token of seeded user u's session (test data only:
// deterministic, never for real accounts).
func SeedToken(u int) string { return fmt.Sprintf("gh_at_seed%054d", u) }

// SeedOrgs bulk-inserts the organizations o describes: users, organizations,
// memberships (the owner by role; the others by role and direct folder and
// area grants), projects, folders, and optionally sessions.
func (s *Store) SeedOrgs(ctx context.Context, o OrgSeed) (err error) {
	if o.Members > SeedUsersPerOrg-1 || o.Projects > 64 || o.Folders > 256 || (o.Folders > 0 && o.Projects == 0) {
		return errors.New("store: seed shape out of range")
	}
	if o.Sessions > 0 && o.TokenHash == nil {
		return errors.New("store: sessions need TokenHash")
	}
	per := o.OrgsPerTx
	if per <= 0 {
		per = 2000
	}
	if s.dialect.Name() == "sqlite" {
		restore, err := s.sqliteCacheSize(ctx, -seedCacheKiB)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, restore()) }()
	}
	now := ts(o.Now)
	for from := o.From; from < o.To; from += per {
		to := min(from+per, o.To)
		var users, orgs, members, projects, folders, sessions [][]any
		for i := from; i < to; i++ {
			org := SeedOrgID(i)
			owner := SeedUserID(i * SeedUsersPerOrg)
			orgs = append(orgs, []any{org, fmt.Sprintf("Org %d", i), "", "{}", owner, now, now})
			for p := range o.Projects {
				projects = append(projects, []any{SeedProjectID(i, p), org, fmt.Sprintf("Project %d", p), "", "{}", now, now})
			}
			for f := range o.Folders {
				p := f % o.Projects
				parent := any(nil)
				if f >= o.Projects && (f/o.Projects)%4 != 0 {
					parent = SeedFolderID(i, f-o.Projects)
				}
				folders = append(folders, []any{SeedFolderID(i, f), org, SeedProjectID(i, p), parent, fmt.Sprintf("Folder %d", f), now, now})
			}
			for k := 0; k <= o.Members; k++ {
				u := i*SeedUsersPerOrg + k
				uid := SeedUserID(u)
				email := fmt.Sprintf("seed%d@example.com", u)
				users = append(users, []any{uid, email, email, fmt.Sprintf("User %d", u), "", true, now, now})
				role, grants := seedMemberRights(i, k, o)
				members = append(members, []any{seedID(5, u), org, uid, role, grants, nil, now, now})
				if k < o.Sessions {
					sessions = append(sessions, []any{seedID(6, u), uid, o.TokenHash(SeedToken(u)), ts(o.Now.Add(24 * time.Hour)),
						o.TokenHash(fmt.Sprintf("gh_rt_seed%054d", u)), ts(o.Now.Add(30 * 24 * time.Hour)), "", "", now, now})
				}
			}
		}
		err := s.Tx(ctx, func(tx *Conn) error {
			for _, t := range []struct {
				table string
				cols  []string
				rows  [][]any
			}{
				{"users", []string{"id", "email", "email_norm", "name", "password_hash", "email_verified", "created_at", "updated_at"}, users},
				{"organizations", []string{"id", "name", "logo_url", "settings", "created_by", "created_at", "updated_at"}, orgs},
				{"memberships", []string{"id", "org_id", "user_id", "role_id", "grants", "invited_by", "created_at", "updated_at"}, members},
				{"projects", []string{"id", "org_id", "name", "description", "settings", "created_at", "updated_at"}, projects},
				{"folders", []string{"id", "org_id", "project_id", "parent_id", "name", "created_at", "updated_at"}, folders},
				{"sessions", []string{"id", "user_id", "access_hash", "access_expires_at", "refresh_hash", "refresh_expires_at", "ip", "user_agent", "created_at", "last_used_at"}, sessions},
			} {
				if err := tx.bulkInsert(ctx, t.table, t.cols, t.rows); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// seedMemberRights gives member k of organization i a role and grants: the
// owner owns; then an admin, an uploader with a folder grant, a viewer with
// area grants, and so on in turn.
func seedMemberRights(i, k int, o OrgSeed) (role any, grants string) {
	if k == 0 {
		return "owner", "[]"
	}
	if o.Projects == 0 {
		return "viewer", "[]"
	}
	p := SeedProjectID(i, k%o.Projects)
	switch k % 3 {
	case 1:
		return "admin", "[]"
	case 2:
		if o.Folders == 0 {
			return "uploader", "[]"
		}
		return "uploader", `[{"entity_type":"projects","entity_id":"` + p + `","name":"custom","action":"","permission":[{"name":"folders","action":"custom","folders":[{"folder_id":"` +
			SeedFolderID(i, k%o.Folders) + `","action":"write+read+delete"}]}]}]`
	default:
		return "viewer", `[{"entity_type":"projects","entity_id":"` + p + `","name":"custom","action":"","permission":[{"name":"livestreams","action":"write+read"},{"name":"analytics","action":"read"}]}]`
	}
}

// bulkInsert inserts rows into table with multi-row INSERTs of the engine's
// default size (see DefaultBulkRows), one prepared statement reused.
func (c *Conn) bulkInsert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	per := c.s.bulkRows(BulkOptions{}, len(cols))
	full, err := c.prepare(ctx, bulkInsertSQL(table, cols, min(per, len(rows))))
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, per*len(cols))
	for start := 0; start < len(rows); start += per {
		batch := rows[start:min(start+per, len(rows))]
		args = args[:0]
		for _, r := range batch {
			args = append(args, r...)
		}
		if len(batch) == per || start == 0 {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = c.q.ExecContext(ctx, bulkInsertSQL(table, cols, len(batch)), args...)
		}
		if err != nil {
			return c.wrap(err, fmt.Sprintf("bulk insert %s (%d rows)", table, len(batch)))
		}
	}
	return nil
}
