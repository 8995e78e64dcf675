package gatehouse

import "time"

// Permission grammar, as sent on the "Send invitation" page (seed 000) and
// stored for members, roles and API keys. The rules that make a list valid
// and the evaluation of a list live in internal/authz; this file only holds
// the wire shapes, the vocabulary and the built-in roles.

// Entity types of a Grant.
const (
	EntityOrganizations = "organizations"
	EntityProjects      = "projects"
)

// AllProjects as a projects grant's EntityID covers every project of the
// organization, present and future.
const AllProjects = "*"

// Names of organizations grants. OrgOwner carries everything in the
// organization; the others are organization-level areas.
const (
	OrgOwner    = "owner"
	OrgBilling  = "billing"
	OrgAPI      = "api"
	OrgMembers  = "members"
	OrgSettings = "settings"
	OrgAudit    = "audit"
)

// Names of projects grants.
const (
	ProjectFullAccess = "full-access" // every action on every area and folder
	ProjectCustom     = "custom"      // the areas listed in Permission
)

// Project areas, named in a custom grant's Permission.
const (
	AreaFolders        = "folders"
	AreaLivestreams    = "livestreams"
	AreaAnalytics      = "analytics"
	AreaAdvertisements = "advertisements"
	AreaSettings       = "settings"
)

// Action tokens. An action string joins ActionRead, ActionWrite and
// ActionDelete with "+" in any order, each at most once; "" means every
// action. ActionCustom is only valid on the folders area, where it means
// the rights are per folder.
const (
	ActionRead   = "read"
	ActionWrite  = "write"
	ActionDelete = "delete"
	ActionCustom = "custom"
)

// Grant is one element of a permission list.
//
// For EntityOrganizations, EntityID is the organization's id. Grants held by
// built-in roles leave it "" meaning "the organization the role is used in";
// Role.GrantsFor fills it in.
type Grant struct {
	EntityType string      `json:"entity_type"` // EntityOrganizations | EntityProjects
	EntityID   string      `json:"entity_id"`   // organization id; project id or AllProjects
	Name       string      `json:"name"`        // Org* for organizations; Project* for projects
	Action     string      `json:"action"`      // "read+write+delete" in any order; "" = every action
	Permission []AreaGrant `json:"permission"`  // only for ProjectCustom; empty otherwise
}

// AreaGrant is one area of a custom projects grant.
type AreaGrant struct {
	Name    string        `json:"name"`              // Area*
	Action  string        `json:"action"`            // as Grant.Action; ActionCustom on folders
	Folders []FolderGrant `json:"folders,omitempty"` // only with ActionCustom
}

// FolderGrant gives actions on one folder and all its descendants.
type FolderGrant struct {
	FolderID string `json:"folder_id"`
	Action   string `json:"action"` // as Grant.Action; "" = every action
}

// Role is a named, reusable permission list. Built-in roles exist in every
// organization with the same ids; custom roles belong to one organization.
type Role struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Grants      []Grant `json:"permissions"`
	BuiltIn     bool    `json:"built_in"`
	// Set for custom roles only.
	CreatedAt time.Time `json:"-"`
	UpdatedAt time.Time `json:"-"`
}

// Built-in role ids: fixed, so that every installation (and every client
// that hard-codes them) agrees.
const (
	RoleOwnerID     = "9cd7c08e-7a5f-4d6a-8a86-b28b4a538c70"
	RoleAdminID     = "bc3df1fb-ffb9-4081-bf3f-5137caebbd42"
	RoleUploaderID  = "17344205-857a-418d-8a2c-e01dcb4f0cef"
	RoleViewerID    = "7fc5e96d-768a-429f-ac1a-3390953f3c3c"
	RoleBillingID   = "232ee2ea-3183-4463-9f70-2f0c9a466e74"
	RoleDeveloperID = "6c7e0de9-4bc2-4aba-84ba-65d085bf74d6"
)

// Built-in role names (role names are lowercase).
const (
	RoleOwner     = "owner"
	RoleAdmin     = "admin"
	RoleUploader  = "uploader"
	RoleViewer    = "viewer"
	RoleBilling   = "billing"
	RoleDeveloper = "developer"
)

// BuiltinRoles returns the built-in roles, in a fixed order. The result is a
// fresh copy each time, so callers may modify it.
func BuiltinRoles() []Role {
	org := func(name string) Grant {
		return Grant{EntityType: EntityOrganizations, Name: name, Permission: []AreaGrant{}}
	}
	allProjects := func(name string, areas ...AreaGrant) Grant {
		if areas == nil {
			areas = []AreaGrant{}
		}
		return Grant{EntityType: EntityProjects, EntityID: AllProjects, Name: name, Permission: areas}
	}
	area := func(name, action string) AreaGrant { return AreaGrant{Name: name, Action: action} }
	everyAreaRead := func() []AreaGrant {
		return []AreaGrant{
			area(AreaFolders, ActionRead),
			area(AreaLivestreams, ActionRead),
			area(AreaAnalytics, ActionRead),
			area(AreaAdvertisements, ActionRead),
			area(AreaSettings, ActionRead),
		}
	}
	return []Role{
		{ID: RoleOwnerID, Name: RoleOwner, BuiltIn: true,
			Description: "Everything in the organization.",
			Grants:      []Grant{org(OrgOwner)}},
		{ID: RoleAdminID, Name: RoleAdmin, BuiltIn: true,
			Description: "Members, settings, API keys and audit of the organization, and full access to every project.",
			Grants: []Grant{
				org(OrgMembers), org(OrgSettings), org(OrgAPI), org(OrgAudit),
				allProjects(ProjectFullAccess),
			}},
		{ID: RoleUploaderID, Name: RoleUploader, BuiltIn: true,
			Description: "Read and write folders and livestreams of every project.",
			Grants: []Grant{allProjects(ProjectCustom,
				area(AreaFolders, ActionRead+"+"+ActionWrite),
				area(AreaLivestreams, ActionRead+"+"+ActionWrite),
			)}},
		{ID: RoleViewerID, Name: RoleViewer, BuiltIn: true,
			Description: "Read every area of every project.",
			Grants:      []Grant{allProjects(ProjectCustom, everyAreaRead()...)}},
		{ID: RoleBillingID, Name: RoleBilling, BuiltIn: true,
			Description: "Billing of the organization.",
			Grants:      []Grant{org(OrgBilling)}},
		{ID: RoleDeveloperID, Name: RoleDeveloper, BuiltIn: true,
			Description: "API keys of the organization and read access to every area of every project.",
			Grants:      []Grant{org(OrgAPI), allProjects(ProjectCustom, everyAreaRead()...)}},
	}
}

// BuiltinRole finds a built-in role by id or by (lowercase) name.
func BuiltinRole(idOrName string) (Role, bool) {
	for _, r := range builtinRoles {
		if r.ID == idOrName || r.Name == idOrName {
			return r.clone(), true
		}
	}
	return Role{}, false
}

// builtinRoles is BuiltinRoles once, for BuiltinRole to find a role by id or
// name without building every role each time (it runs on every invitation
// and role look-up); the role it returns is still a fresh copy.
var builtinRoles = BuiltinRoles()

// clone copies the role deeply: nothing the copy holds is shared.
func (r Role) clone() Role {
	if r.Grants != nil {
		gs := make([]Grant, len(r.Grants))
		for i, g := range r.Grants {
			if g.Permission != nil {
				ps := make([]AreaGrant, len(g.Permission))
				for j, p := range g.Permission {
					if p.Folders != nil {
						p.Folders = append([]FolderGrant{}, p.Folders...)
					}
					ps[j] = p
				}
				g.Permission = ps
			}
			gs[i] = g
		}
		r.Grants = gs
	}
	return r
}

// GrantsFor returns a copy of the role's grants with every organizations
// grant that leaves EntityID empty bound to orgID, ready for validation and
// evaluation in that organization.
func (r Role) GrantsFor(orgID string) []Grant {
	out := make([]Grant, len(r.Grants))
	for i, g := range r.Grants {
		if g.EntityType == EntityOrganizations && g.EntityID == "" {
			g.EntityID = orgID
		}
		if g.Permission != nil {
			areas := make([]AreaGrant, len(g.Permission))
			for j, a := range g.Permission {
				if a.Folders != nil {
					a.Folders = append([]FolderGrant(nil), a.Folders...)
				}
				areas[j] = a
			}
			g.Permission = areas
		}
		out[i] = g
	}
	return out
}
