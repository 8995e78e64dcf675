package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestProjectAndFolderPages(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		s := apptest.New(t, e)
		c, ids := owner(t, s, "olivia@example.com", "Marketing", "Training")
		m := ids["Marketing"]
		org := orgOf(t, s, c)
		tok := c.Cookie("gh_access").Value
		camp := s.CreateFolder(tok, org, m, "Campaigns", "")
		launch := s.CreateFolder(tok, org, m, "2026 launch", camp)
		raw := s.CreateFolder(tok, org, m, "Raw footage", "")
		base := "/projects/" + m

		r := c.Get(base)
		apptest.WantPage(t, r, 200, `id="delete-project"`, `id="project-settings"`, base+"/folders/"+camp+"/move", base+"/folders/"+launch+"/delete",
			`action="`+base+`/folders/`+raw+`/rename"`, `id="bulk-move"`, `value="Marketing"`)

		// Rename: an empty name is refused beside that folder's field.
		r = c.Post(base+"/folders/"+raw+"/rename", url.Values{"new_name": {"  "}})
		apptest.WantPage(t, r, http.StatusBadRequest, "Name is required.", `id="rn-`+raw+`-err"`)
		r = c.Post(base+"/folders/"+raw+"/rename", url.Values{"new_name": {"Footage"}})
		apptest.WantRedirect(t, r, base)
		apptest.WantPage(t, c.Follow(r), 200, "Folder renamed to Footage.")

		// Move: into its own subfolder is refused on the move page; then to the top level.
		apptest.WantPage(t, c.Get(base+"/folders/"+camp+"/move"), 200, "Move folder Campaigns", "Its 1 subfolder moves with it", "Footage")
		apptest.WantNot(t, c.Get(base+"/folders/"+camp+"/move"), `<option value="`+launch+`"`)
		r = c.Post(base+"/folders/"+camp+"/move", url.Values{"parent_id": {launch}})
		apptest.WantPage(t, r, http.StatusConflict, "A folder cannot move into itself or its own subfolders.")
		r = c.Post(base+"/folders/"+launch+"/move", url.Values{"parent_id": {""}})
		apptest.WantRedirect(t, r, base)
		// Bulk move: nothing ticked; then two folders into Footage.
		apptest.WantPage(t, c.Post(base+"/folders/move", url.Values{"parent_id": {raw}}), http.StatusBadRequest, "Tick the folders to move first.")
		r = c.Post(base+"/folders/move", url.Values{"folder_id": {camp, raw}, "parent_id": {raw}})
		apptest.WantPage(t, r, http.StatusConflict, "The folders were not moved")
		r = c.Post(base+"/folders/move", url.Values{"folder_id": {camp, launch}, "parent_id": {raw}})
		apptest.WantRedirect(t, r, base)
		apptest.WantPage(t, c.Follow(r), 200, "2 folders moved.")

		// Delete shows what the folder holds.
		apptest.WantPage(t, c.Get(base+"/folders/"+raw+"/delete"), 200, "Delete folder Footage?", "It holds 2 subfolders", "Campaigns", "2026 launch")
		r = c.Post(base+"/folders/"+raw+"/delete", nil)
		apptest.WantRedirect(t, r, base)
		apptest.WantPage(t, c.Follow(r), 200, "Folder Footage and 2 subfolders deleted.", "No folders yet")

		// Project settings: a too long name is said beside it, then renamed.
		long := string(make([]byte, 101))
		for range 101 {
			long = "a" + long[:100]
		}
		r = c.Post(base+"/edit", url.Values{"project_name": {long}, "project_description": {"Videos"}})
		apptest.WantPage(t, r, http.StatusBadRequest, "Name must be at most 100 characters.", `value="Videos"`)
		r = c.Post(base+"/edit", url.Values{"project_name": {"Brand"}, "project_description": {"Videos"}})
		apptest.WantRedirect(t, r, base)
		apptest.WantPage(t, c.Follow(r), 200, "Project Brand saved.", "<h1>Brand</h1>")

		// A member with folder read and write on one folder: rename only,
		// no move, delete, settings or project delete; typed URLs are 403.
		keep := s.CreateFolder(tok, org, m, "Keep", "")
		mia := s.AddStoreMember(org, "Mia", "mia@example.com", "", []gatehouse.Grant{{EntityType: "projects", EntityID: m, Name: "custom",
			Permission: []gatehouse.AreaGrant{{Name: "folders", Action: "custom", Folders: []gatehouse.FolderGrant{{FolderID: keep, Action: "read+write"}}}}}})
		mc := signIn(t, s, mia.Email)
		r = mc.Get(base)
		apptest.WantPage(t, r, 200, "Keep", `/folders/`+keep+`/rename`)
		apptest.WantNot(t, r, `id="delete-project"`, `id="project-settings"`, "/folders/"+keep+"/move", "/folders/"+keep+"/delete", `id="bulk-move"`)
		apptest.WantPage(t, mc.Get(base+"/folders/"+keep+"/delete"), http.StatusForbidden, "needs delete permission")
		apptest.WantPage(t, mc.Get(base+"/folders/"+keep+"/move"), http.StatusForbidden)
		apptest.WantPage(t, mc.Post(base+"/folders/"+keep+"/delete", nil), http.StatusForbidden)
		apptest.WantPage(t, mc.Get(base+"/delete"), http.StatusForbidden, "full access to every project")
		apptest.WantPage(t, mc.Post(base+"/delete", nil), http.StatusForbidden)
		apptest.WantPage(t, mc.Post(base+"/edit", url.Values{"project_name": {"Mine"}}), http.StatusForbidden)
		apptest.WantPage(t, mc.Get("/projects/"+ids["Training"]+"/delete"), http.StatusForbidden)
		// Another organization's folder is 404.
		other, _ := owner(t, s, "oscar@example.com")
		apptest.WantPage(t, other.Get(base+"/folders/"+keep+"/delete"), http.StatusNotFound)

		// The owner deletes the project, after a page naming its folders.
		apptest.WantPage(t, c.Get(base+"/delete"), 200, "Delete project Brand?", "It holds 1 folder", "Keep")
		r = c.Post(base+"/delete", nil)
		apptest.WantRedirect(t, r, "/dashboard")
		r = c.Follow(r)
		apptest.WantPage(t, r, 200, "Project Brand and its folders were deleted.", "Training")
		apptest.WantPage(t, c.Get(base), http.StatusNotFound)
	})
}
