package authz_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// This file compares Set.Check with a deliberately naive evaluator that
// walks the raw grants for every question, over random organizations,
// folder trees, grants (valid and not) and queries; and checks that Covers
// is sound: whatever a covered set allows, the holder allows too.

// chooser is the source of randomness: math/rand for the randomized test,
// the fuzzer's bytes for FuzzCheck.
type chooser interface{ intn(n int) int }

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int { return c.r.IntN(n) }

// byteChooser reads one byte per choice and answers 0 once exhausted, so
// every generator loop terminates.
type byteChooser struct{ b []byte }

func (c *byteChooser) intn(n int) int {
	if n <= 1 || len(c.b) == 0 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	return v % n
}

func pick[T any](c chooser, xs ...T) T { return xs[c.intn(len(xs))] }

type world struct {
	org      string
	projects []string // in the tree
	nodes    []authz.FolderNode
	tree     *authz.Tree
}

var (
	ghostProject  = benchID(2, 99)  // named by grants, no folders
	freshProject  = benchID(5, 1)   // never named anywhere
	unknownFolder = benchID(3, 999) // not in the tree
	otherOrg      = benchID(1, 7)
)

func genWorld(c chooser) *world {
	w := &world{org: benchID(1, 0)}
	for i := range 1 + c.intn(4) {
		w.projects = append(w.projects, benchID(2, i))
	}
	for i := range c.intn(25) {
		n := authz.FolderNode{ID: benchID(3, i), ProjectID: pick(c, w.projects...)}
		switch k := c.intn(10); {
		case i == 0 || k < 2:
		case k < 6:
			n.ParentID = w.nodes[i-1].ID
			if c.intn(3) > 0 {
				n.ProjectID = w.nodes[i-1].ProjectID
			}
		case k < 9:
			n.ParentID = w.nodes[c.intn(i)].ID
		default:
			n.ParentID = unknownFolder
		}
		w.nodes = append(w.nodes, n)
	}
	w.tree = authz.NewTree(w.nodes)
	return w
}

func (w *world) folderID(c chooser) string {
	if len(w.nodes) == 0 || c.intn(12) == 0 {
		return unknownFolder
	}
	return w.nodes[c.intn(len(w.nodes))].ID
}

func genAction(c chooser) string {
	if c.intn(8) == 0 {
		return pick(c, "read+read", "READ", "custom", "read+", "+write", "all")
	}
	return pick(c, "", "read", "write", "delete", "read+write", "write+read+delete", "delete+read", "write+delete", "")
}

func genGrant(c chooser, w *world) gatehouse.Grant {
	var g gatehouse.Grant
	switch k := c.intn(10); {
	case k < 3:
		g.EntityType = gatehouse.EntityOrganizations
		g.EntityID = pick(c, w.org, w.org, w.org, w.org, w.org, "", otherOrg)
		if c.intn(14) == 0 {
			g.Name = gatehouse.OrgOwner
			g.Action = pick(c, "", "", "read+write+delete", genAction(c))
		} else {
			g.Name = pick(c, "billing", "api", "members", "settings", "audit", "billing", "api", "bogus")
			g.Action = genAction(c)
		}
		if c.intn(10) == 0 {
			g.Permission = []gatehouse.AreaGrant{{Name: "folders", Action: ""}}
		}
	case k < 9:
		g.EntityType = gatehouse.EntityProjects
		switch k := c.intn(10); {
		case k < 2:
			g.EntityID = gatehouse.AllProjects
		case k < 8:
			g.EntityID = pick(c, w.projects...)
		case k < 9:
			g.EntityID = ghostProject
		default:
			g.EntityID = pick(c, "", "bogus")
		}
		g.Name = pick(c, "full-access", "full-access", "custom", "custom", "custom", "custom", "custom", "bogus")
		g.Action = genAction(c)
		if c.intn(3) > 0 {
			g.Action = ""
		}
		if g.Name != "full-access" || c.intn(10) == 0 {
			for range c.intn(4) {
				g.Permission = append(g.Permission, genArea(c, w))
			}
		}
	default:
		g.EntityType = pick(c, "bogus", "")
		g.EntityID = w.org
		g.Name = pick(c, "owner", "full-access")
	}
	return g
}

func genArea(c chooser, w *world) gatehouse.AreaGrant {
	a := gatehouse.AreaGrant{
		Name:   pick(c, "folders", "folders", "folders", "livestreams", "analytics", "advertisements", "settings", "bogus"),
		Action: genAction(c),
	}
	if a.Name == "folders" && c.intn(2) == 0 || c.intn(12) == 0 {
		a.Action = gatehouse.ActionCustom
	}
	if a.Action == gatehouse.ActionCustom || c.intn(10) == 0 {
		for range 1 + c.intn(3) {
			a.Folders = append(a.Folders, gatehouse.FolderGrant{FolderID: w.folderID(c), Action: genAction(c)})
		}
	}
	return a
}

func genSources(c chooser, w *world) []authz.Source {
	var out []authz.Source
	for i := range 1 + c.intn(3) {
		s := authz.Source{Label: []string{"direct", "role1", "role2"}[i]}
		if c.intn(6) == 0 {
			role := gatehouse.BuiltinRoles()[c.intn(6)]
			s.Label, s.Grants = role.Name, role.GrantsFor(w.org)
		} else {
			for range c.intn(6) {
				s.Grants = append(s.Grants, genGrant(c, w))
			}
		}
		out = append(out, s)
	}
	return out
}

// subset derives a set of grants that the holder probably covers: some of
// its grants, with folder grants moved down to a descendant.
func subset(c chooser, w *world, sources []authz.Source) []authz.Source {
	children := map[string][]string{}
	for _, n := range w.nodes {
		if p, ok := w.tree.Parent(n.ID); ok && p != "" {
			children[p] = append(children[p], n.ID)
		}
	}
	var out []gatehouse.Grant
	for _, s := range sources {
		for _, g := range s.Grants {
			if c.intn(2) == 0 {
				continue
			}
			g.Permission = append([]gatehouse.AreaGrant(nil), g.Permission...)
			for i := range g.Permission {
				a := &g.Permission[i]
				a.Folders = append([]gatehouse.FolderGrant(nil), a.Folders...)
				for j := range a.Folders {
					for c.intn(2) == 0 && len(children[a.Folders[j].FolderID]) > 0 {
						a.Folders[j].FolderID = pick(c, children[a.Folders[j].FolderID]...)
					}
				}
			}
			out = append(out, g)
		}
	}
	return []authz.Source{{Label: "direct", Grants: out}}
}

type query struct {
	res    authz.Resource
	area   string
	action authz.Action
}

func genQuery(c chooser, w *world) query {
	var q query
	switch k := c.intn(20); {
	case k < 6:
		q.res = authz.Organization()
		q.area = pick(c, "owner", "billing", "api", "members", "settings", "audit", "folders", "bogus", "")
	case k < 12:
		q.res = authz.Project(pick(c, append(w.projects, ghostProject, freshProject, "")...))
		q.area = pick(c, "folders", "livestreams", "analytics", "advertisements", "settings", "billing", "")
	case k < 19:
		q.res = authz.Folder(w.folderID(c))
		q.area = pick(c, "folders", "folders", "", "livestreams")
	default:
		q.res = authz.Resource{Kind: "bogus", ID: w.folderID(c)}
		q.area = "folders"
	}
	q.action = authz.Action(1 + c.intn(7))
	if c.intn(15) == 0 {
		q.action = pick[authz.Action](c, 0, 8, 15)
	}
	return q
}

// naive evaluates the raw grants for each question, with no precomputation.
type naive struct {
	org     string
	sources []authz.Source
	nodes   []authz.FolderNode
}

// node returns a folder by id (the first one, as NewTree keeps).
func (n *naive) node(id string) (authz.FolderNode, bool) {
	for _, f := range n.nodes {
		if f.ID == id {
			return f, true
		}
	}
	return authz.FolderNode{}, false
}

// within reports whether folder id is anc or below it. A parent that is
// missing or in another project ends the walk (NewTree's repair; the
// generated trees have no cycles).
func (n *naive) within(id, anc string) bool {
	cur, ok := n.node(id)
	for ok {
		if cur.ID == anc {
			return true
		}
		parent, pok := n.node(cur.ParentID)
		if !pok || parent.ProjectID != cur.ProjectID {
			return false
		}
		cur = parent
	}
	return false
}

func naiveMask(s string) authz.Action {
	a, err := authz.ParseAction(s)
	if err != nil {
		return 0
	}
	return a
}

func isOrgArea(s string) bool {
	switch s {
	case "billing", "api", "members", "settings", "audit":
		return true
	}
	return false
}

func isProjectArea(s string) bool {
	switch s {
	case "folders", "livestreams", "analytics", "advertisements", "settings":
		return true
	}
	return false
}

// wellFormed reports whether a question can be allowed at all.
func (n *naive) wellFormed(q query) bool {
	switch q.res.Kind {
	case authz.KindOrganization:
		return q.area == "owner" || isOrgArea(q.area)
	case authz.KindProject:
		return isProjectArea(q.area)
	case authz.KindFolder:
		_, ok := n.node(q.res.ID)
		return ok && (q.area == "" || q.area == "folders")
	}
	return false
}

func (n *naive) allows(g gatehouse.Grant, q query, bit authz.Action) bool {
	if !n.wellFormed(q) {
		return false
	}
	switch g.EntityType {
	case gatehouse.EntityOrganizations:
		if g.EntityID != n.org && g.EntityID != "" {
			return false
		}
		if g.Name == gatehouse.OrgOwner {
			return naiveMask(g.Action) == authz.All
		}
		return q.res.Kind == authz.KindOrganization && q.area == g.Name && isOrgArea(g.Name) && naiveMask(g.Action)&bit != 0
	case gatehouse.EntityProjects:
		covers := func(project string) bool { return g.EntityID == "*" || g.EntityID == project }
		capm := naiveMask(g.Action)
		switch q.res.Kind {
		case authz.KindProject:
			if !covers(q.res.ID) {
				return false
			}
			switch g.Name {
			case "full-access":
				return capm&bit != 0
			case "custom":
				for _, a := range g.Permission {
					if a.Name == q.area && a.Action != "custom" && naiveMask(a.Action)&capm&bit != 0 {
						return true
					}
				}
			}
		case authz.KindFolder:
			f, _ := n.node(q.res.ID)
			switch g.Name {
			case "full-access":
				return covers(f.ProjectID) && capm&bit != 0
			case "custom":
				for _, a := range g.Permission {
					if a.Name != "folders" {
						continue
					}
					if a.Action != "custom" {
						if covers(f.ProjectID) && naiveMask(a.Action)&capm&bit != 0 {
							return true
						}
						continue
					}
					for _, fg := range a.Folders {
						granted, ok := n.node(fg.FolderID)
						if ok && covers(granted.ProjectID) && n.within(q.res.ID, fg.FolderID) && naiveMask(fg.Action)&capm&bit != 0 {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

func (n *naive) check(q query) (bool, authz.GrantRef) {
	if q.action == 0 || q.action&^authz.All != 0 {
		return false, authz.GrantRef{}
	}
	var first *authz.GrantRef
	for b := authz.Read; b <= authz.Delete; b <<= 1 {
		if q.action&b == 0 {
			continue
		}
		var found *authz.GrantRef
	search:
		for _, s := range n.sources {
			for i, g := range s.Grants {
				if n.allows(g, q, b) {
					found = &authz.GrantRef{Source: s.Label, Index: i}
					break search
				}
			}
		}
		if found == nil {
			return false, authz.GrantRef{}
		}
		if first == nil {
			first = found
		}
	}
	return true, *first
}

// everyQuery lists every well-formed single-action question in the world.
func everyQuery(w *world) []query {
	var qs []query
	add := func(res authz.Resource, areas ...string) {
		for _, a := range areas {
			for b := authz.Read; b <= authz.Delete; b <<= 1 {
				qs = append(qs, query{res, a, b})
			}
		}
	}
	add(authz.Organization(), "owner", "billing", "api", "members", "settings", "audit")
	for _, p := range append(w.projects, ghostProject, freshProject) {
		add(authz.Project(p), "folders", "livestreams", "analytics", "advertisements", "settings")
	}
	for _, n := range w.nodes {
		add(authz.Folder(n.ID), "folders")
	}
	return qs
}

type caseStats struct{ covered, uncovered int }

// runCase generates one scenario from c and returns a description of the
// first discrepancy, or "".
func runCase(c chooser, st *caseStats) string {
	w := genWorld(c)
	srcA := genSources(c, w)
	var srcB []authz.Source
	if c.intn(2) == 0 {
		srcB = subset(c, w, srcA)
	} else {
		srcB = genSources(c, w)
	}
	a := authz.Compile(w.org, srcA, w.tree)
	b := authz.Compile(w.org, srcB, w.tree)
	na := &naive{org: w.org, sources: srcA, nodes: w.nodes}
	nb := &naive{org: w.org, sources: srcB, nodes: w.nodes}
	dump := func(msg string) string {
		j, _ := json.MarshalIndent(map[string]any{"folders": w.nodes, "A": srcA, "B": srcB}, "", " ")
		return msg + "\n" + string(j)
	}

	for range 40 {
		q := genQuery(c, w)
		for _, x := range []struct {
			name string
			s    *authz.Set
			n    *naive
		}{{"A", a, na}, {"B", b, nb}} {
			got, gotBy := x.s.Check(q.res, q.area, q.action)
			want, wantBy := x.n.check(q)
			if got != want || gotBy != wantBy {
				return dump(fmt.Sprintf("%s.Check(%v, %q, %v) = %v by %v; naive says %v by %v",
					x.name, q.res, q.area, q.action, got, gotBy, want, wantBy))
			}
		}
	}

	r, by, found := authz.Uncovered(a, b)
	if found != !authz.Covers(a, b) {
		return dump("Covers disagrees with Uncovered")
	}
	if !found {
		st.covered++
		for _, q := range everyQuery(w) {
			if ok, _ := b.Check(q.res, q.area, q.action); ok {
				if ok, _ := a.Check(q.res, q.area, q.action); !ok {
					return dump(fmt.Sprintf("Covers(A, B) but B allows %v %q %v and A does not", q.res, q.area, q.action))
				}
			}
		}
		return ""
	}
	// The uncovered right is a witness: B allows it, A does not.
	st.uncovered++
	res := r.Resource
	if res.Kind == authz.KindProject && res.ID == gatehouse.AllProjects {
		res = authz.Project(freshProject)
	}
	okB, byB := b.Check(res, r.Area, r.Action)
	okA, _ := a.Check(res, r.Area, r.Action)
	if !okB || okA || by == (authz.GrantRef{}) || byB == (authz.GrantRef{}) {
		return dump(fmt.Sprintf("Uncovered = %v from %v, but B allows it: %v, A allows it: %v", r, by, okB, okA))
	}
	return ""
}

const defaultSeed = 20260115

func TestRandomized(t *testing.T) {
	seed := uint64(defaultSeed)
	if s := os.Getenv("AUTHZ_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("AUTHZ_SEED: %v", err)
		}
		seed = v
	}
	const cases = 3000
	var st caseStats
	for i := range cases {
		c := randChooser{rand.New(rand.NewPCG(seed, uint64(i)))}
		if msg := runCase(c, &st); msg != "" {
			t.Fatalf("seed %d, case %d (rerun: AUTHZ_SEED=%d go test -run TestRandomized ./internal/authz): %s", seed, i, seed, msg)
		}
	}
	t.Logf("seed %d: %d cases, Covers true in %d, false in %d", seed, cases, st.covered, st.uncovered)
	if st.covered < cases/10 || st.uncovered < cases/10 {
		t.Errorf("generator is lopsided: %+v", st)
	}
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("gatehouse permissions"))
	f.Add([]byte{3, 20, 5, 5, 5, 5, 5, 5, 5, 5, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 200, 201, 202, 203})
	seed := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(seed.IntN(256))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var st caseStats
		if msg := runCase(&byteChooser{data}, &st); msg != "" {
			t.Fatal(msg)
		}
	})
}
