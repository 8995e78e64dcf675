package authz

import (
	"errors"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// Resource kinds, as written before the colon of a resource string.
const (
	KindOrganization = "organization"
	KindProject      = "project"
	KindFolder       = "folder"
)

// Resource is what a check asks about: the organization itself, one project
// or one folder.
type Resource struct {
	Kind string // KindOrganization, KindProject or KindFolder
	ID   string // "" for KindOrganization
}

// Organization, Project and Folder build resources without parsing.
func Organization() Resource     { return Resource{Kind: KindOrganization} }
func Project(id string) Resource { return Resource{Kind: KindProject, ID: id} }
func Folder(id string) Resource  { return Resource{Kind: KindFolder, ID: id} }
func (r Resource) String() string {
	if r.Kind == KindOrganization || r.ID == "" {
		return r.Kind
	}
	return r.Kind + ":" + r.ID
}

// ParseResource parses "organization", "project:<id>" or "folder:<id>",
// where <id> is a lowercase UUID.
func ParseResource(s string) (Resource, error) {
	if s == KindOrganization {
		return Organization(), nil
	}
	kind, id, ok := strings.Cut(s, ":")
	if !ok || (kind != KindProject && kind != KindFolder) {
		return Resource{}, errors.New(`must be "organization", "project:<id>" or "folder:<id>"`)
	}
	if !IsUUID(id) {
		return Resource{}, errors.New("the " + kind + " id must be a UUID")
	}
	return Resource{Kind: kind, ID: id}, nil
}

// IsUUID reports whether s is a UUID in canonical lowercase 8-4-4-4-12 form.
// Only lowercase is accepted because ids are compared as strings throughout
// (in maps here and in the database), and the store issues lowercase ids.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// Organization-level areas, by index.
const (
	orgBilling = iota
	orgAPI
	orgMembers
	orgSettings
	orgAudit
	numOrgAreas
)

var orgAreaNames = [numOrgAreas]string{
	gatehouse.OrgBilling, gatehouse.OrgAPI, gatehouse.OrgMembers, gatehouse.OrgSettings, gatehouse.OrgAudit,
}

// orgArea returns the index of an organization area, or -1.
func orgArea(name string) int {
	switch name {
	case gatehouse.OrgBilling:
		return orgBilling
	case gatehouse.OrgAPI:
		return orgAPI
	case gatehouse.OrgMembers:
		return orgMembers
	case gatehouse.OrgSettings:
		return orgSettings
	case gatehouse.OrgAudit:
		return orgAudit
	}
	return -1
}

// Project areas, by index.
const (
	areaFolders = iota
	areaLivestreams
	areaAnalytics
	areaAdvertisements
	areaSettings
	numAreas
)

var areaNames = [numAreas]string{
	gatehouse.AreaFolders, gatehouse.AreaLivestreams, gatehouse.AreaAnalytics,
	gatehouse.AreaAdvertisements, gatehouse.AreaSettings,
}

// projectArea returns the index of a project area, or -1.
func projectArea(name string) int {
	switch name {
	case gatehouse.AreaFolders:
		return areaFolders
	case gatehouse.AreaLivestreams:
		return areaLivestreams
	case gatehouse.AreaAnalytics:
		return areaAnalytics
	case gatehouse.AreaAdvertisements:
		return areaAdvertisements
	case gatehouse.AreaSettings:
		return areaSettings
	}
	return -1
}
