package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Shared by orgs_test.go, projects_test.go, folders_test.go and
// invalidation_test.go (prefix "op").

// opUnknownID is a well-formed id that names nothing.
const opUnknownID = "0190b2a4-1c2d-7e3f-8a4b-5c6d7e8f9a0b"

// opWorld is one organization, Acme, with:
//   - owner (created it), admin and viewer (built-in roles), and custom,
//     whose only grant is the seed's commented custom shape reduced to its
//     folder: projects custom on P1, folders custom, write+read+delete on A;
//   - projects P1 (folders A, A/A1 and B) and P2 (folder C);
//   - outsider, who owns another organization with a project and a folder
//     and acts there (their current organization) unless told otherwise.
type opWorld struct {
	srv                                    *apptest.Server
	org                                    string
	owner, admin, viewer, custom, outsider *apptest.Member
	p1, p2                                 string
	fA, fA1, fB, fC                        string
	otherOrg, otherProject, otherFolder    string
	n                                      int
}

func opNewWorld(t *testing.T, srv *apptest.Server) *opWorld {
	t.Helper()
	w := &opWorld{srv: srv}
	w.owner = srv.SignupMember("Olive Owner", "owner@acme.test")
	w.org = apptest.ID(t, apptest.MustDo(t, srv, 201, apptest.Req{Method: "POST", Path: "/v1/organizations", Token: w.owner.Token,
		Body: map[string]any{"name": "Acme"}}))
	w.p1 = w.project(t, w.owner, "P1")
	w.p2 = w.project(t, w.owner, "P2")
	w.fA = w.folder(t, w.p1, "A", "")
	w.fA1 = w.folder(t, w.p1, "A1", w.fA)
	w.fB = w.folder(t, w.p1, "B", "")
	w.fC = w.folder(t, w.p2, "C", "")
	w.admin = srv.AddStoreMember(w.org, "Ada Admin", "admin@acme.test", gatehouse.RoleAdminID, nil)
	w.viewer = srv.AddStoreMember(w.org, "Vic Viewer", "viewer@acme.test", gatehouse.RoleViewerID, nil)
	w.custom = srv.AddStoreMember(w.org, "Cus Tom", "custom@acme.test", "",
		[]gatehouse.Grant{apptest.OneFolderGrant(w.p1, w.fA, "write+read+delete")})
	w.outsider = srv.SignupMember("Otto Outsider", "otto@other.test")
	w.otherOrg = apptest.ID(t, apptest.MustDo(t, srv, 201, apptest.Req{Method: "POST", Path: "/v1/organizations", Token: w.outsider.Token,
		Body: map[string]any{"name": "Other"}}))
	w.otherProject = apptest.ID(t, apptest.MustDo(t, srv, 201, apptest.Req{Method: "POST", Path: "/v1/projects", Token: w.outsider.Token,
		Body: map[string]any{"name": "Theirs"}}))
	w.otherFolder = apptest.ID(t, apptest.MustDo(t, srv, 201, apptest.Req{Method: "POST", Path: "/v1/projects/" + w.otherProject + "/folders",
		Token: w.outsider.Token, Body: map[string]any{"name": "Secret"}}))
	return w
}

// req is a request by m in Acme (the outsider in their own organization).
func (w *opWorld) req(m *apptest.Member, method, path string, body any) apptest.Req {
	r := apptest.Req{Method: method, Path: path, Token: m.Token, Body: body}
	if m != w.outsider {
		r.Header = map[string]string{"X-Organization-Id": w.org}
	}
	return r
}

func (w *opWorld) do(m *apptest.Member, method, path string, body any) *apptest.Response {
	return w.srv.Do(w.req(m, method, path, body))
}

// actingOrg is the organization m's requests act in.
func (w *opWorld) actingOrg(m *apptest.Member) string {
	if m == w.outsider {
		return w.otherOrg
	}
	return w.org
}

func (w *opWorld) name(prefix string) string {
	w.n++
	return fmt.Sprintf("%s %d", prefix, w.n)
}

func (w *opWorld) project(t *testing.T, m *apptest.Member, name string) string {
	t.Helper()
	return apptest.ID(t, apptest.MustDo(t, w.srv, 201, w.req(m, "POST", "/v1/projects", map[string]any{"name": name})))
}

// folder creates a folder as the owner ("" parent: the root).
func (w *opWorld) folder(t *testing.T, pid, name, parent string) string {
	t.Helper()
	body := map[string]any{"name": name}
	if parent != "" {
		body["parent_id"] = parent
	}
	return apptest.ID(t, apptest.MustDo(t, w.srv, 201, w.req(w.owner, "POST", "/v1/projects/"+pid+"/folders", body)))
}

// parentOf reads a folder's parent ("" for the root) from the store.
func (w *opWorld) parentOf(t *testing.T, pid, id string) string {
	t.Helper()
	f, err := w.srv.Store.R().Folder(context.Background(), w.org, pid, id)
	if err != nil {
		t.Fatalf("folder %s: %v", id, err)
	}
	return f.ParentID
}

// opTree renders a folder tree answer ({"data": [nodes]}) as
// "name{child,child}" lists, checking each node is exactly {id, name,
// children} and ids are as named in ids (name → id) when given.
func opTree(t *testing.T, body map[string]any, ids map[string]string) string {
	t.Helper()
	var render func(nodes []any) string
	render = func(nodes []any) string {
		parts := []string{}
		for _, n := range nodes {
			node, _ := n.(map[string]any)
			name, _ := node["name"].(string)
			children, ok := node["children"].([]any)
			if len(node) != 3 || node["id"] == nil || !ok {
				t.Fatalf("tree node %v", n)
			}
			if want, ok := ids[name]; ok && node["id"] != want {
				t.Fatalf("tree node %s has id %v, want %s", name, node["id"], want)
			}
			part := name
			if len(children) > 0 {
				part += "{" + render(children) + "}"
			}
			parts = append(parts, part)
		}
		return strings.Join(parts, ",")
	}
	data, ok := body["data"].([]any)
	if !ok {
		t.Fatalf("tree without data: %v", body)
	}
	return render(data)
}

// opAction is one operation of the rights table. do prepares what it needs
// (as the owner) and performs it as m; it returns the answer, and the
// organization ("" for none) and target an audit event must name when the
// operation succeeds and audit is set.
type opAction struct {
	audit string
	do    func(t *testing.T, w *opWorld, m *apptest.Member) (resp *apptest.Response, auditOrg, target string)
}

func opActions() map[string]opAction {
	read := func(method, path func(w *opWorld) string) opAction {
		return opAction{do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			return w.do(m, method(w), path(w), nil), "", ""
		}}
	}
	get := func(path func(w *opWorld) string) opAction {
		return read(func(*opWorld) string { return "GET" }, path)
	}
	createFolder := func(parent func(w *opWorld) string) opAction {
		return opAction{audit: "folder.created", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			body := map[string]any{"name": w.name("new")}
			if p := parent(w); p != "" {
				body["parent_id"] = p
			}
			resp := w.do(m, "POST", "/v1/projects/"+w.p1+"/folders", body)
			id := apptest.StringField(resp, "id")
			return resp, w.org, id
		}}
	}
	// under makes a fresh folder as the owner under A or B.
	under := func(t *testing.T, w *opWorld, where string) string {
		parent := map[string]string{"A": w.fA, "B": w.fB}[where]
		return w.folder(t, w.p1, w.name("fresh"), parent)
	}
	move := func(from, to string) opAction {
		return opAction{audit: "folder.moved", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			x := under(t, w, from)
			var target any // nil: the root
			switch to {
			case "A", "B":
				target = map[string]string{"A": w.fA, "B": w.fB}[to]
			case "A/new":
				target = under(t, w, "A")
			}
			return w.do(m, "POST", "/v1/projects/"+w.p1+"/folders/"+x+"/move", map[string]any{"parent_id": target}), w.org, x
		}}
	}
	return map[string]opAction{
		"org.list": get(func(w *opWorld) string { return "/v1/organizations" }),
		"org.get":  get(func(w *opWorld) string { return "/v1/organizations/" + w.org }),
		"org.update": {audit: "organization.updated", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			return w.do(m, "PATCH", "/v1/organizations/"+w.org, map[string]any{"name": w.name("Acme")}), w.org, w.org
		}},
		// The owner deletes an organization of their own made for the
		// purpose; the others try Acme.
		"org.delete": {audit: "organization.deleted", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			org := w.org
			if m == w.owner {
				org = apptest.ID(t, apptest.MustDo(t, w.srv, 201, apptest.Req{Method: "POST", Path: "/v1/organizations", Token: m.Token,
					Body: map[string]any{"name": w.name("Throwaway")}}))
			}
			return w.do(m, "DELETE", "/v1/organizations/"+org, nil), org, org
		}},
		"org.switch": {audit: "user.organization_switched", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			return w.do(m, "POST", "/v1/organizations/"+w.org+"/switch", nil), "", m.UserID
		}},
		"project.list":   get(func(w *opWorld) string { return "/v1/projects" }),
		"project.get.P1": get(func(w *opWorld) string { return "/v1/projects/" + w.p1 }),
		"project.get.P2": get(func(w *opWorld) string { return "/v1/projects/" + w.p2 }),
		"project.create": {audit: "project.created", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			resp := w.do(m, "POST", "/v1/projects", map[string]any{"name": w.name("Project")})
			id := apptest.StringField(resp, "id")
			return resp, w.actingOrg(m), id
		}},
		"project.update": {audit: "project.updated", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			return w.do(m, "PATCH", "/v1/projects/"+w.p1, map[string]any{"description": w.name("about")}), w.org, w.p1
		}},
		"project.delete": {audit: "project.deleted", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			pid := w.project(t, w.owner, w.name("Doomed"))
			return w.do(m, "DELETE", "/v1/projects/"+pid, nil), w.org, pid
		}},
		"project.settings.get": get(func(w *opWorld) string { return "/v1/projects/" + w.p1 + "/settings" }),
		"project.settings.put": {audit: "project.updated", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			return w.do(m, "PUT", "/v1/projects/"+w.p1+"/settings", map[string]any{"n": w.name("v")}), w.org, w.p1
		}},
		"folder.list.P1":     get(func(w *opWorld) string { return "/v1/projects/" + w.p1 + "/folders" }),
		"folder.list.P2":     get(func(w *opWorld) string { return "/v1/projects/" + w.p2 + "/folders" }),
		"folder.tree.P1":     get(func(w *opWorld) string { return "/v1/projects/" + w.p1 + "/folders/tree" }),
		"folder.get.A":       get(func(w *opWorld) string { return "/v1/projects/" + w.p1 + "/folders/" + w.fA }),
		"folder.get.A1":      get(func(w *opWorld) string { return "/v1/projects/" + w.p1 + "/folders/" + w.fA1 }),
		"folder.get.B":       get(func(w *opWorld) string { return "/v1/projects/" + w.p1 + "/folders/" + w.fB }),
		"folder.create.root": createFolder(func(w *opWorld) string { return "" }),
		"folder.create.A":    createFolder(func(w *opWorld) string { return w.fA }),
		"folder.create.B":    createFolder(func(w *opWorld) string { return w.fB }),
		"folder.rename.inA": {audit: "folder.updated", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			x := under(t, w, "A")
			return w.do(m, "PATCH", "/v1/projects/"+w.p1+"/folders/"+x, map[string]any{"name": w.name("renamed")}), w.org, x
		}},
		"folder.rename.inB": {audit: "folder.updated", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			x := under(t, w, "B")
			return w.do(m, "PATCH", "/v1/projects/"+w.p1+"/folders/"+x, map[string]any{"name": w.name("renamed")}), w.org, x
		}},
		"folder.delete.inA": {audit: "folder.deleted", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			x := under(t, w, "A")
			return w.do(m, "DELETE", "/v1/projects/"+w.p1+"/folders/"+x, nil), w.org, x
		}},
		"folder.delete.inB": {audit: "folder.deleted", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			x := under(t, w, "B")
			return w.do(m, "DELETE", "/v1/projects/"+w.p1+"/folders/"+x, nil), w.org, x
		}},
		"folder.move.withinA": move("A", "A/new"),
		"folder.move.AtoRoot": move("A", "root"),
		"folder.move.BtoA":    move("B", "A"),
		"folder.move.AtoB":    move("A", "B"),
		"folder.bulkmove.withinA": {audit: "folder.moved", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			x, y, z := under(t, w, "A"), under(t, w, "A"), under(t, w, "A")
			return w.do(m, "POST", "/v1/projects/"+w.p1+"/folders/move", map[string]any{"folder_ids": []string{x, y}, "parent_id": z}), w.org, y
		}},
		"folder.bulkmove.AandBtoA": {audit: "folder.moved", do: func(t *testing.T, w *opWorld, m *apptest.Member) (*apptest.Response, string, string) {
			x, y := under(t, w, "A"), under(t, w, "B")
			return w.do(m, "POST", "/v1/projects/"+w.p1+"/folders/move", map[string]any{"folder_ids": []string{x, y}, "parent_id": w.fA}), w.org, x
		}},
	}
}

// TestOrgProjectFolderRights walks the rights table: each operation as the
// owner, an admin and a viewer (built-in roles), a custom member whose only
// grant is write+read+delete on folder A of P1, and an outsider (another
// organization's owner, acting there) → the status each must get. Every
// success that changes something leaves its audit event.
func TestOrgProjectFolderRights(t *testing.T) {
	t.Parallel()
	rows := []struct {
		action                                 string
		owner, admin, viewer, custom, outsider int
	}{
		{"org.list", 200, 200, 200, 200, 200},
		{"org.get", 200, 200, 200, 200, 404},
		{"org.update", 200, 200, 403, 403, 404},
		{"org.delete", 204, 403, 403, 403, 404},
		{"org.switch", 200, 200, 200, 200, 404},
		{"project.list", 200, 200, 200, 200, 200},
		{"project.create", 201, 201, 403, 403, 201},
		{"project.get.P1", 200, 200, 200, 200, 404},
		{"project.get.P2", 200, 200, 200, 403, 404},
		{"project.update", 200, 200, 403, 403, 404},
		{"project.delete", 204, 204, 403, 403, 404},
		{"project.settings.get", 200, 200, 200, 403, 404},
		{"project.settings.put", 200, 200, 403, 403, 404},
		{"folder.list.P1", 200, 200, 200, 200, 404},
		{"folder.list.P2", 200, 200, 200, 403, 404},
		{"folder.tree.P1", 200, 200, 200, 200, 404},
		{"folder.get.A", 200, 200, 200, 200, 404},
		{"folder.get.A1", 200, 200, 200, 200, 404},
		{"folder.get.B", 200, 200, 200, 403, 404},
		{"folder.create.root", 201, 201, 403, 403, 404},
		{"folder.create.A", 201, 201, 403, 201, 404},
		{"folder.create.B", 201, 201, 403, 403, 404},
		{"folder.rename.inA", 200, 200, 403, 200, 404},
		{"folder.rename.inB", 200, 200, 403, 403, 404},
		{"folder.delete.inA", 204, 204, 403, 204, 404},
		{"folder.delete.inB", 204, 204, 403, 403, 404},
		{"folder.move.withinA", 200, 200, 403, 200, 404},
		{"folder.move.AtoRoot", 200, 200, 403, 403, 404},
		{"folder.move.BtoA", 200, 200, 403, 403, 404},
		{"folder.move.AtoB", 200, 200, 403, 403, 404},
		{"folder.bulkmove.withinA", 200, 200, 403, 200, 404},
		{"folder.bulkmove.AandBtoA", 200, 200, 403, 403, 404},
	}
	actions := opActions()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		w := opNewWorld(t, apptest.New(t, e))
		principals := []struct {
			name string
			m    *apptest.Member
		}{{"owner", w.owner}, {"admin", w.admin}, {"viewer", w.viewer}, {"custom", w.custom}, {"outsider", w.outsider}}
		for _, row := range rows {
			act, ok := actions[row.action]
			if !ok {
				t.Fatalf("no action %q", row.action)
			}
			for i, want := range []int{row.owner, row.admin, row.viewer, row.custom, row.outsider} {
				p := principals[i]
				kind := "OK"
				if want >= 400 {
					kind = "Err" + strings.ReplaceAll(http.StatusText(want), " ", "")
				}
				t.Run(kind+"/"+row.action+"/"+p.name, func(t *testing.T) {
					resp, org, target := act.do(t, w, p.m)
					if resp.Status != want {
						t.Fatalf("status %d, want %d: %s", resp.Status, want, resp.Body)
					}
					switch {
					case want == 403:
						p := apptest.ProblemCode(t, resp, 403, "")
						// Creating and deleting projects needs full-access on
						// every project, checked as "holds these rights".
						if c := p["code"]; c != "forbidden" && c != "escalation" {
							t.Fatalf("code %v", c)
						}
					case want == 404:
						apptest.ProblemCode(t, resp, 404, "not_found")
					case act.audit != "":
						apptest.HasAudit(t, w.srv, org, target, act.audit)
					}
				})
			}
		}
	})
}
