package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Describe puts a role and grants into words for people (invitation mails,
// the accept page, the dashboard), naming projects and folders.
func (b *base) Describe(ctx context.Context, conn *store.Conn, orgID string, role *gatehouse.Role, grants []gatehouse.Grant) ([]string, error) {
	var out []string
	if role != nil {
		desc := role.Description
		if desc == "" {
			desc = "a custom role"
		}
		out = append(out, fmt.Sprintf("Role %s: %s", role.Name, strings.TrimSuffix(desc, ".")))
	}
	refs, _ := authz.Validate(orgID, grants, "permissions")
	projects, err := conn.ProjectNames(ctx, orgID, refs.ProjectIDs())
	if err != nil {
		return nil, err
	}
	folders, err := conn.FoldersByID(ctx, orgID, refs.FolderIDs())
	if err != nil {
		return nil, err
	}
	folderNames := map[string]string{}
	for _, f := range folders {
		folderNames[f.ID] = f.Name
	}
	actions := func(s string) string {
		a, err := authz.ParseAction(s)
		if err != nil {
			return s
		}
		return strings.ReplaceAll(a.String(), "+", ", ")
	}
	projectName := func(id string) string {
		if id == gatehouse.AllProjects {
			return "every project"
		}
		if n, ok := projects[id]; ok {
			return "project " + n
		}
		return "an unknown project"
	}
	for _, g := range grants {
		switch {
		case g.EntityType == gatehouse.EntityOrganizations && g.Name == gatehouse.OrgOwner:
			out = append(out, "Owner of the organization: everything")
		case g.EntityType == gatehouse.EntityOrganizations && g.Name == gatehouse.OrgBilling && isAll(g.Action):
			// The guide's one "Billing permissions" box, not three actions.
			out = append(out, "Organization billing: the billing permission")
		case g.EntityType == gatehouse.EntityOrganizations:
			out = append(out, fmt.Sprintf("Organization %s: %s", orgAreaWords[g.Name], actions(g.Action)))
		case g.Name == gatehouse.ProjectFullAccess:
			out = append(out, fmt.Sprintf("Full access to %s: %s", projectName(g.EntityID), actions(g.Action)))
		default:
			for _, a := range g.Permission {
				if a.Action == gatehouse.ActionCustom {
					for _, f := range a.Folders {
						name := folderNames[f.FolderID]
						if name == "" {
							name = "an unknown folder"
						} else {
							name = "folder " + name
						}
						out = append(out, fmt.Sprintf("%s in %s (and its subfolders): %s", name, projectName(g.EntityID), actions(f.Action)))
					}
					continue
				}
				out = append(out, fmt.Sprintf("%s of %s: %s", strings.ToUpper(a.Name[:1])+a.Name[1:], projectName(g.EntityID), actions(a.Action)))
			}
		}
	}
	if len(out) == 0 {
		out = append(out, "No access yet")
	}
	return out, nil
}

// isAll reports whether an action string grants every action.
func isAll(s string) bool {
	a, err := authz.ParseAction(s)
	return err == nil && a == authz.All
}

var orgAreaWords = map[string]string{
	gatehouse.OrgBilling:  "billing",
	gatehouse.OrgAPI:      "API access",
	gatehouse.OrgMembers:  "members",
	gatehouse.OrgSettings: "settings",
	gatehouse.OrgAudit:    "audit log",
}

// DescribeAccess is Describe in the caller's organization, read outside any
// transaction (the dashboard's members page).
func (b *base) DescribeAccess(ctx context.Context, c *Caller, role *gatehouse.Role, grants []gatehouse.Grant) ([]string, error) {
	return b.Describe(ctx, b.store.R(), c.OrgID, role, grants)
}
