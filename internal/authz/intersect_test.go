package authz_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gatehouse/gatehouse/internal/authz"
)

// TestIntersect checks, over random worlds, that the intersection allows
// exactly what both sets allow, that both sets cover it, and that Reaches
// agrees.
func TestIntersect(t *testing.T) {
	const seed = 20261122
	r := rand.New(rand.NewPCG(seed, seed))
	c := randChooser{r}
	for i := range 1500 {
		w := genWorld(c)
		a := authz.Compile(w.org, genSources(c, w), w.tree)
		b := authz.Compile(w.org, genSources(c, w), w.tree)
		in := authz.Intersect(a, b)
		for _, q := range everyQuery(w) {
			okA, _ := a.Check(q.res, q.area, q.action)
			okB, _ := b.Check(q.res, q.area, q.action)
			got, by := in.Check(q.res, q.area, q.action)
			if got != (okA && okB) {
				t.Fatalf("case %d (seed %d): %s %s %s: intersection %v, a %v, b %v", i, seed, q.res, q.area, q.action, got, okA, okB)
			}
			if got {
				if _, byA := a.Check(q.res, q.area, q.action); by != byA {
					t.Fatalf("case %d: granted_by %v, want a's %v", i, by, byA)
				}
			}
		}
		if !authz.Covers(a, in) || !authz.Covers(b, in) {
			t.Fatalf("case %d: a or b does not cover their intersection", i)
		}
		for _, p := range append(w.projects, ghostProject, freshProject) {
			if in.Reaches(p) && !(a.Reaches(p) && b.Reaches(p)) {
				t.Fatalf("case %d: intersection reaches %s that a or b does not", i, p)
			}
		}
	}
}
