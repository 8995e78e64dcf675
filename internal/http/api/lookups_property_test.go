package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// lpWorld is a random organization for the look-up property test.
type lpWorld struct {
	t        *testing.T
	srv      *apptest.Server
	r        *rand.Rand
	org      string
	owner    *service.Caller
	projects []string
	folders  map[string][]string // project → folders
	members  []string            // user ids, the owner first
	roles    []string            // custom role ids
	keys     []*gatehouse.Principal
	joined   int
}

func (w *lpWorld) caller(p *gatehouse.Principal) *service.Caller {
	w.t.Helper()
	c, err := w.srv.Services.Access.Caller(context.Background(), gatehouse.Actor{Kind: p.Kind, ID: p.ID()}, p, w.org)
	if err != nil {
		w.t.Fatalf("caller: %v", err)
	}
	return c
}

func (w *lpWorld) action() string {
	return []string{"read", "write", "delete", "read+write", "", "write+delete"}[w.r.IntN(6)]
}

// grant is a random valid grant of the organization.
func (w *lpWorld) grant() gatehouse.Grant {
	p := w.projects[w.r.IntN(len(w.projects))]
	switch w.r.IntN(6) {
	case 0:
		return gatehouse.Grant{EntityType: "organizations", EntityID: w.org, Name: []string{"members", "audit", "billing"}[w.r.IntN(3)], Action: w.action(), Permission: []gatehouse.AreaGrant{}}
	case 1:
		id := p
		if w.r.IntN(3) == 0 {
			id = "*"
		}
		return gatehouse.Grant{EntityType: "projects", EntityID: id, Name: "full-access", Action: w.action(), Permission: []gatehouse.AreaGrant{}}
	case 2:
		id := p
		if w.r.IntN(3) == 0 {
			id = "*"
		}
		return gatehouse.Grant{EntityType: "projects", EntityID: id, Name: "custom", Action: "", Permission: []gatehouse.AreaGrant{
			{Name: []string{"folders", "livestreams", "settings"}[w.r.IntN(3)], Action: w.action()}}}
	default:
		var fgs []gatehouse.FolderGrant
		fs := w.folders[p]
		for range 1 + w.r.IntN(2) {
			f := fs[w.r.IntN(len(fs))]
			if !slices.ContainsFunc(fgs, func(g gatehouse.FolderGrant) bool { return g.FolderID == f }) {
				fgs = append(fgs, gatehouse.FolderGrant{FolderID: f, Action: w.action()})
			}
		}
		return gatehouse.Grant{EntityType: "projects", EntityID: p, Name: "custom", Action: "", Permission: []gatehouse.AreaGrant{
			{Name: "folders", Action: "custom", Folders: fgs}}}
	}
}

func (w *lpWorld) grants() []gatehouse.Grant {
	out := []gatehouse.Grant{}
	for range w.r.IntN(4) {
		out = append(out, w.grant())
	}
	return out
}

// role is "" (none), a built-in role, or a custom one.
func (w *lpWorld) role() string {
	switch k := w.r.IntN(4); {
	case k == 0:
		return ""
	case k == 1 && len(w.roles) > 0:
		return w.roles[w.r.IntN(len(w.roles))]
	default:
		return []string{gatehouse.RoleViewerID, gatehouse.RoleUploaderID, gatehouse.RoleDeveloperID, gatehouse.RoleBillingID}[w.r.IntN(4)]
	}
}

func lpSetup(t *testing.T, e storetest.Engine, seed uint64) *lpWorld {
	srv := apptest.New(t, e)
	w := &lpWorld{t: t, srv: srv, r: rand.New(rand.NewPCG(seed, 1)), folders: map[string][]string{}}
	tok, u := srv.Signup("Owner", "owner@example.com")
	w.org = srv.CreateOrg(tok, "Random")
	w.members = []string{u["id"].(string)}
	w.owner = w.caller(&gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: w.members[0]})
	ctx := context.Background()
	for i := range 2 {
		p := srv.CreateProject(tok, w.org, fmt.Sprintf("P%d", i))
		w.projects = append(w.projects, p)
		for j := range 5 {
			parent := ""
			if j > 0 && w.r.IntN(3) > 0 {
				parent = w.folders[p][w.r.IntN(j)]
			}
			w.owner = w.caller(&gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: w.members[0]})
			f, err := srv.Services.Folders.Create(ctx, w.owner, p, fmt.Sprintf("F%d", j), parent)
			if err != nil {
				t.Fatal(err)
			}
			w.folders[p] = append(w.folders[p], f.ID)
		}
	}
	w.owner = w.caller(&gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: w.members[0]})
	for i := range 2 {
		r, err := srv.Services.Roles.Create(ctx, w.owner, service.RoleInput{Name: fmt.Sprintf("role%d", i), Grants: w.grants(), GrantsSet: true})
		if err != nil {
			t.Fatal(err)
		}
		w.roles = append(w.roles, r.ID)
	}
	for i := range 5 {
		m := srv.AddStoreMember(w.org, fmt.Sprintf("Member %d", i), fmt.Sprintf("m%d@example.com", i), w.role(), w.grants())
		w.members = append(w.members, m.UserID)
	}
	for i := range 2 {
		// Keys made by the owner, capped by the owner: all of their grants.
		k, _, err := srv.Services.Keys.Create(ctx, w.owner, service.KeyInput{Name: fmt.Sprintf("key%d", i), Grants: w.grants(), GrantsSet: true})
		if err != nil {
			t.Fatal(err)
		}
		w.keys = append(w.keys, &gatehouse.Principal{Kind: gatehouse.PrincipalAPIKey, APIKeyID: k.ID, UserID: k.CreatedBy, OrgID: w.org})
	}
	return w
}

// mutate changes the world: a folder move, a member's rights, a role, a
// member leaving or joining.
func (w *lpWorld) mutate() {
	ctx := context.Background()
	w.owner = w.caller(&gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: w.members[0]})
	switch w.r.IntN(5) {
	case 0:
		p := w.projects[w.r.IntN(len(w.projects))]
		fs := w.folders[p]
		parent := ""
		if w.r.IntN(4) > 0 {
			parent = fs[w.r.IntN(len(fs))]
		}
		// A move into its own subtree is refused; that is a fine no-op here.
		_, _ = w.srv.Services.Folders.Move(ctx, w.owner, p, []string{fs[w.r.IntN(len(fs))]}, parent)
	case 1:
		m := w.members[1+w.r.IntN(len(w.members)-1)]
		w.srv.SetStoreRights(w.org, m, w.role(), w.grants())
	case 3:
		// A member leaves (one at least stays besides the owner).
		if len(w.members) > 2 {
			i := 1 + w.r.IntN(len(w.members)-1)
			if err := w.srv.Services.Members.Remove(ctx, w.owner, w.members[i]); err != nil {
				w.t.Fatal(err)
			}
			w.members = slices.Delete(w.members, i, i+1)
		}
	case 4:
		// Someone joins.
		w.joined++
		m := w.srv.AddStoreMember(w.org, fmt.Sprintf("Joiner %d", w.joined), fmt.Sprintf("j%d@example.com", w.joined), w.role(), w.grants())
		w.members = append(w.members, m.UserID)
	case 2:
		i := w.r.IntN(len(w.roles))
		if _, err := w.srv.Services.Roles.Update(ctx, w.owner, w.roles[i], service.RoleInput{Name: fmt.Sprintf("role%d", i), Grants: w.grants(), GrantsSet: true}); err != nil {
			w.t.Fatal(err)
		}
	}
}

// lpAll pages through a look-up (limit 3, so paging is exercised).
func lpAll[T any](t *testing.T, fetch func(gatehouse.PageRequest) (gatehouse.Page[T], error)) []T {
	t.Helper()
	var out []T
	page := gatehouse.PageRequest{Limit: 3}
	for {
		p, err := fetch(page)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" {
			return out
		}
		c, err := gatehouse.DecodeCursor(p.NextCursor)
		if err != nil {
			t.Fatal(err)
		}
		page.After = c
	}
}

// verify compares every look-up with the checks it replaces.
func (w *lpWorld) verify(round int) {
	t := w.t
	ctx := context.Background()
	owner := w.caller(&gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: w.members[0]})
	var allFolders []string
	for _, p := range w.projects {
		allFolders = append(allFolders, w.folders[p]...)
	}
	slices.Sort(allFolders)
	actions := []string{"read", "write", "delete", "read+write"}
	check := func(c *service.Caller, userID, entityType, id, name, action string) (bool, string) {
		t.Helper()
		res, err := w.srv.Services.Members.Check(ctx, c, []service.CheckInput{{UserID: userID, EntityType: entityType, EntityID: id, Name: name, Action: action}}, "")
		if err != nil {
			t.Fatal(err)
		}
		if !res[0].Allowed {
			return false, ""
		}
		return true, *res[0].GrantedBy
	}
	// lookup-resources, for each member, area and action.
	for _, m := range w.members {
		for _, action := range actions {
			for _, p := range append([]string{""}, w.projects...) {
				got := lpAll(t, func(page gatehouse.PageRequest) (gatehouse.Page[service.Resource], error) {
					return w.srv.Services.Lookups.LookupResources(ctx, owner, service.ResourceQuery{UserID: m, EntityType: "folders", ProjectID: p, Name: "folders", Action: action}, page)
				})
				var want []service.Resource
				for _, f := range allFolders {
					if fp, _ := w.folderProject(f); p != "" && fp != p {
						continue
					}
					if ok, by := check(owner, m, "folders", f, "folders", action); ok {
						want = append(want, service.Resource{EntityType: "folders", EntityID: f, Via: by})
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("round %d: lookup-resources folders of %q for %s %s = %v, checks say %v", round, p, m, action, got, want)
				}
			}
			for _, area := range []string{"folders", "livestreams", "settings"} {
				got := lpAll(t, func(page gatehouse.PageRequest) (gatehouse.Page[service.Resource], error) {
					return w.srv.Services.Lookups.LookupResources(ctx, owner, service.ResourceQuery{UserID: m, EntityType: "projects", Name: area, Action: action}, page)
				})
				var want []service.Resource
				for _, p := range slices.Sorted(slices.Values(w.projects)) {
					if ok, by := check(owner, m, "projects", p, area, action); ok {
						want = append(want, service.Resource{EntityType: "projects", EntityID: p, Via: by})
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("round %d: lookup-resources projects %s for %s %s = %v, checks say %v", round, area, m, action, got, want)
				}
			}
		}
	}
	// lookup-subjects, for each folder and project and action.
	type q struct{ typ, id, name string }
	var qs []q
	for _, f := range allFolders {
		qs = append(qs, q{"folders", f, "folders"})
	}
	for _, p := range w.projects {
		qs = append(qs, q{"projects", p, "livestreams"}, q{"projects", p, "folders"})
	}
	qs = append(qs, q{"organizations", "", "members"})
	for _, qq := range qs {
		for _, action := range actions {
			got := lpAll(t, func(page gatehouse.PageRequest) (gatehouse.Page[service.Subject], error) {
				return w.srv.Services.Lookups.LookupSubjects(ctx, owner, service.SubjectQuery{EntityType: qq.typ, EntityID: qq.id, Name: qq.name, Action: action}, page)
			})
			gotIDs := map[string]bool{}
			for _, s := range got {
				gotIDs[s.Kind+":"+s.ID] = true
				// Each via names a grant the subject really holds: the
				// check's own grant is among them.
				var by string
				if s.Kind == "user" {
					_, by = check(owner, s.ID, qq.typ, qq.id, qq.name, action)
				} else {
					_, by = check(w.caller(w.key(s.ID)), "", qq.typ, qq.id, qq.name, action)
				}
				if !slices.ContainsFunc(s.Via, func(r service.Reason) bool { return r.Grant == by }) {
					t.Fatalf("round %d: %s %s via %+v misses the check's %q", round, s.Kind, s.ID, s.Via, by)
				}
			}
			want := map[string]bool{}
			for _, m := range w.members {
				if ok, _ := check(owner, m, qq.typ, qq.id, qq.name, action); ok {
					want["user:"+m] = true
				}
			}
			for _, k := range w.keys {
				if ok, _ := check(w.caller(k), "", qq.typ, qq.id, qq.name, action); ok {
					want["api_key:"+k.APIKeyID] = true
				}
			}
			if fmt.Sprint(gotIDs) != fmt.Sprint(want) || len(got) != len(want) {
				t.Fatalf("round %d: lookup-subjects %v %s = %v, checks say %v", round, qq, action, gotIDs, want)
			}
		}
	}
}

// verifyReview compares the access review's rows with the checks: for each
// member, the organization and project rows are exactly the allowed
// (resource, area, action), and every folder row is allowed.
func (w *lpWorld) verifyReview(round int) {
	t := w.t
	ctx := context.Background()
	owner := w.caller(&gatehouse.Principal{Kind: gatehouse.PrincipalUser, UserID: w.members[0]})
	review, err := w.srv.Services.Lookups.Review(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := review.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rows[1:] {
		if r[3] != "folder" {
			got[strings.Join([]string{r[0], r[3], r[4], r[6], r[7]}, " ")] = true
			continue
		}
		res, err := w.srv.Services.Members.Check(ctx, owner, []service.CheckInput{{UserID: r[0], EntityType: "folders", EntityID: r[4], Name: r[6], Action: r[7]}}, "")
		if err != nil || !res[0].Allowed {
			t.Fatalf("round %d: review row %v is not allowed by the check (%v)", round, r, err)
		}
	}
	want := map[string]bool{}
	for _, m := range w.members {
		for _, a := range []string{"read", "write", "delete"} {
			var checks []service.CheckInput
			var keys []string
			for _, area := range []string{"owner", "billing", "api", "members", "settings", "audit"} {
				checks = append(checks, service.CheckInput{UserID: m, EntityType: "organizations", Name: area, Action: a})
				keys = append(keys, strings.Join([]string{m, "organization", w.org, area, a}, " "))
			}
			for _, p := range w.projects {
				for _, area := range []string{"folders", "livestreams", "analytics", "advertisements", "settings"} {
					checks = append(checks, service.CheckInput{UserID: m, EntityType: "projects", EntityID: p, Name: area, Action: a})
					keys = append(keys, strings.Join([]string{m, "project", p, area, a}, " "))
				}
			}
			res, err := w.srv.Services.Members.Check(ctx, owner, checks, "checks")
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Allowed {
					want[keys[i]] = true
				}
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("round %d: review rows %v, checks say %v", round, got, want)
	}
}

func (w *lpWorld) key(id string) *gatehouse.Principal {
	for _, k := range w.keys {
		if k.APIKeyID == id {
			return k
		}
	}
	w.t.Fatalf("unknown key %s", id)
	return nil
}

func (w *lpWorld) folderProject(f string) (string, bool) {
	for p, fs := range w.folders {
		if slices.Contains(fs, f) {
			return p, true
		}
	}
	return "", false
}

// TestLookupsProperty builds random trees, grants, roles and keys, then
// moves folders and changes rights and roles, and after every change
// compares each look-up (and the access review) with the checks it
// replaces, on both engines (one random world per engine under -short,
// four without).
func TestLookupsProperty(t *testing.T) {
	t.Parallel()
	seeds := uint64(4)
	if testing.Short() {
		seeds = 1 // the other random worlds run without -short
	}
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		for seed := range seeds {
			t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
				w := lpSetup(t, e, seed)
				w.verify(0)
				w.verifyReview(0)
				for round := 1; round <= 8; round++ {
					w.mutate()
					w.verify(round)
					w.verifyReview(round)
				}
			})
		}
	})
}
