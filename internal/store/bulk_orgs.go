package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// seedID is fmt.Sprintf("5eed%04x-0000-4000-8000-%012x", kind, n), written
// without fmt (a million organizations take 60 million of them).
func seedID(kind, n int) string {
	if kind < 0 || kind > 0xffff || n < 0 || n >= 1<<48 {
		return fmt.Sprintf("5eed%04x-0000-4000-8000-%012x", kind, n)
	}
	b := []byte("5eed0000-0000-4000-8000-000000000000")
	const digits = "0123456789abcdef"
	for i := 7; i >= 4; i-- {
		b[i] = digits[kind&15]
		kind >>= 4
	}
	for i := 35; i >= 24; i-- {
		b[i] = digits[n&15]
		n >>= 4
	}
	return string(b)
}

// seedNumbered is prefix + n printed in width digits, zero-padded
// (fmt's %0*d for n ≥ 0).
func seedNumbered(prefix string, width, n int) string {
	d := strconv.Itoa(n)
	if len(d) >= width {
		return prefix + d
	}
	return prefix + strings.Repeat("0", width-len(d)) + d
}

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
func SeedToken(u int) string { return seedNumbered("gh_at_seed", 54, u) }

// SeedOrgs bulk-inserts the organizations o describes: users, organizations,
// memberships (the owner by role; the others by role and direct folder and
// area grants), projects, folders, and optionally sessions.
func (s *Store) SeedOrgs(ctx context.Context, o OrgSeed) error {
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
	return s.bulkLoad(ctx, func(write func([]BulkTable) error) error {
		for from := o.From; from < o.To; from += per {
			if err := write(seedOrgRows(o, from, min(from+per, o.To))); err != nil {
				return err
			}
		}
		return nil
	})
}

// seedOrgRows returns the rows of organizations [from, to).
func seedOrgRows(o OrgSeed, from, to int) []BulkTable {
	now := ts(o.Now)
	n := to - from
	users := make([][]any, 0, n*(o.Members+1))
	orgs := make([][]any, 0, n)
	members := make([][]any, 0, n*(o.Members+1))
	projects := make([][]any, 0, n*o.Projects)
	folders := make([][]any, 0, n*o.Folders)
	sessions := make([][]any, 0, n*min(o.Sessions, o.Members+1))
	for i := from; i < to; i++ {
		org := SeedOrgID(i)
		owner := SeedUserID(i * SeedUsersPerOrg)
		orgs = append(orgs, []any{org, "Org " + strconv.Itoa(i), "", "{}", owner, now, now})
		for p := range o.Projects {
			projects = append(projects, []any{SeedProjectID(i, p), org, "Project " + strconv.Itoa(p), "", "{}", now, now})
		}
		for f := range o.Folders {
			p := f % o.Projects
			parent := any(nil)
			if f >= o.Projects && (f/o.Projects)%4 != 0 {
				parent = SeedFolderID(i, f-o.Projects)
			}
			folders = append(folders, []any{SeedFolderID(i, f), org, SeedProjectID(i, p), parent, "Folder " + strconv.Itoa(f), now, now})
		}
		for k := 0; k <= o.Members; k++ {
			u := i*SeedUsersPerOrg + k
			uid := SeedUserID(u)
			email := "seed" + strconv.Itoa(u) + "@example.com"
			users = append(users, []any{uid, email, email, "User " + strconv.Itoa(u), "", true, now, now})
			role, grants := seedMemberRights(i, k, o)
			members = append(members, []any{seedID(5, u), org, uid, role, grants, nil, now, now})
			if k < o.Sessions {
				sessions = append(sessions, []any{seedID(6, u), uid, o.TokenHash(SeedToken(u)), ts(o.Now.Add(24 * time.Hour)),
					o.TokenHash(seedNumbered("gh_rt_seed", 54, u)), ts(o.Now.Add(30 * 24 * time.Hour)), "", "", now, now})
			}
		}
	}
	// Referenced tables first: PostgreSQL checks foreign keys.
	return []BulkTable{
		{"users", []string{"id", "email", "email_norm", "name", "password_hash", "email_verified", "created_at", "updated_at"}, users},
		{"organizations", []string{"id", "name", "logo_url", "settings", "created_by", "created_at", "updated_at"}, orgs},
		{"memberships", []string{"id", "org_id", "user_id", "role_id", "grants", "invited_by", "created_at", "updated_at"}, members},
		{"projects", []string{"id", "org_id", "name", "description", "settings", "created_at", "updated_at"}, projects},
		{"folders", []string{"id", "org_id", "project_id", "parent_id", "name", "created_at", "updated_at"}, folders},
		{"sessions", []string{"id", "user_id", "access_hash", "access_expires_at", "refresh_hash", "refresh_expires_at", "ip", "user_agent", "created_at", "last_used_at"}, sessions},
	}
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
