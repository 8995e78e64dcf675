package service

import (
	"context"
	"net/url"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/sso"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MaxSSODomains bounds the email domains of one connection.
const MaxSSODomains = 20

// SSOConnectionInput creates or (for PATCH, nil fields stay) changes a connection.
type SSOConnectionInput struct {
	Type           *string
	Name           *string
	Issuer         *string
	ClientID       *string
	ClientSecret   *string
	IdPMetadataXML *string
	IdPMetadataURL *string
	Domains        *[]string
	Enforced       *bool
}

var errSSONotFound = gatehouse.Errorf(gatehouse.ENOTFOUND, "SSO connection not found.")

// normalizeDomains lower-cases, de-duplicates and checks email domains.
func normalizeDomains(in []string) ([]string, *gatehouse.FieldError) {
	if len(in) == 0 {
		return nil, &gatehouse.FieldError{Field: "domains", Message: "must name at least one email domain"}
	}
	if len(in) > MaxSSODomains {
		return nil, &gatehouse.FieldError{Field: "domains", Message: "must have at most 20 domains"}
	}
	seen := map[string]bool{}
	var out []string
	for i, d := range in {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if !validDomain(d) {
			return nil, &gatehouse.FieldError{Field: "domains[" + itoa(i) + "]", Message: "must be an email domain like example.com"}
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out, nil
}

// validDomain decides whether d is a plain lower-case DNS name (labels of
// letters, digits and inner hyphens), as SSO connections and invitation
// policies take them.
func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// EmailDomain is the part of an address after its last @, lower-cased.
func EmailDomain(email string) string {
	return strings.ToLower(strings.TrimSpace(email[strings.LastIndexByte(email, '@')+1:]))
}

// CoversEmail reports whether a connection signs in an address.
func CoversEmail(c *gatehouse.SSOConnection, email string) bool {
	d := EmailDomain(email)
	for _, x := range c.Domains {
		if x == d {
			return true
		}
	}
	return false
}

func httpURL(field, v string, httpsOnly bool) (string, *gatehouse.FieldError) {
	v = strings.TrimSpace(v)
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && (httpsOnly || u.Scheme != "http")) || len(v) > 2048 {
		msg := "must be an http:// or https:// URL"
		if httpsOnly {
			msg = "must be an https:// URL"
		}
		return "", &gatehouse.FieldError{Field: field, Message: msg}
	}
	return strings.TrimRight(v, "/"), nil
}

func req(field string) *gatehouse.FieldError {
	return &gatehouse.FieldError{Field: field, Message: "is required"}
}

// apply validates in onto c (a new connection when c.ID is set but not yet
// stored). What each type needs: OIDC an issuer URL, a client id and a
// secret; SAML the IdP's metadata, as XML or fetched once from an https URL.
func (s *SSO) apply(ctx context.Context, c *gatehouse.SSOConnection, in SSOConnectionInput, creating bool) error {
	var errs []*gatehouse.FieldError
	if in.Name != nil {
		n, ferr := validateName("name", *in.Name, false)
		errs = append(errs, ferr)
		c.Name = n
	}
	if in.Domains != nil {
		ds, ferr := normalizeDomains(*in.Domains)
		errs = append(errs, ferr)
		c.Domains = ds
	} else if creating {
		errs = append(errs, req("domains"))
	}
	if in.Enforced != nil {
		c.Enforced = *in.Enforced
	}
	switch c.Type {
	case gatehouse.SSOTypeOIDC:
		if in.IdPMetadataXML != nil || in.IdPMetadataURL != nil {
			errs = append(errs, &gatehouse.FieldError{Field: "idp_metadata_xml", Message: "is for SAML connections"})
		}
		if in.Issuer != nil {
			v, ferr := httpURL("issuer", *in.Issuer, false)
			errs = append(errs, ferr)
			c.Issuer = v
		}
		if in.ClientID != nil {
			c.ClientID = strings.TrimSpace(*in.ClientID)
		}
		if in.ClientSecret != nil {
			c.ClientSecret = *in.ClientSecret
		}
		if c.Issuer == "" && (creating || in.Issuer != nil) {
			errs = append(errs, req("issuer"))
		}
		if c.ClientID == "" || len(c.ClientID) > 255 || !storableText(c.ClientID) {
			errs = append(errs, &gatehouse.FieldError{Field: "client_id", Message: "is required (at most 255 characters)"})
		}
		if c.ClientSecret == "" || len(c.ClientSecret) > 1024 || !storableText(c.ClientSecret) {
			errs = append(errs, &gatehouse.FieldError{Field: "client_secret", Message: "is required (at most 1024 characters)"})
		}
	case gatehouse.SSOTypeSAML:
		if in.Issuer != nil || in.ClientID != nil || in.ClientSecret != nil {
			errs = append(errs, &gatehouse.FieldError{Field: "issuer", Message: "is for OIDC connections"})
		}
		if in.IdPMetadataURL != nil {
			v, ferr := httpURL("idp_metadata_url", *in.IdPMetadataURL, true)
			errs = append(errs, ferr)
			if ferr == nil && in.IdPMetadataXML == nil {
				xml, err := sso.FetchIdPMetadata(ctx, v)
				if err != nil {
					return err
				}
				c.IdPMetadataXML = xml
			}
			c.IdPMetadataURL = v
		}
		if in.IdPMetadataXML != nil {
			c.IdPMetadataXML = *in.IdPMetadataXML
		}
		if c.IdPMetadataXML == "" {
			errs = append(errs, &gatehouse.FieldError{Field: "idp_metadata_xml", Message: "is required (or idp_metadata_url)"})
		} else if len(c.IdPMetadataXML) > 1<<20 || !storableText(c.IdPMetadataXML) || sso.CheckIdPMetadata(c.IdPMetadataXML) != nil {
			errs = append(errs, &gatehouse.FieldError{Field: "idp_metadata_xml", Message: "must be a SAML identity provider's metadata"})
		}
	default:
		errs = append(errs, &gatehouse.FieldError{Field: "type", Message: "must be oidc or saml"})
	}
	if err := fields(errs...); err != nil {
		return err
	}
	if c.Name == "" {
		c.Name = strings.ToUpper(c.Type) + " " + c.Domains[0]
	}
	return nil
}

// CreateConnection adds an SSO connection; it needs organizations settings
// write. A domain another connection claims is 409 domain_taken.
func (s *SSO) CreateConnection(ctx context.Context, c *Caller, in SSOConnectionInput) (*gatehouse.SSOConnection, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return nil, err
	}
	now := s.now()
	conn := &gatehouse.SSOConnection{ID: newID(), OrgID: c.OrgID, CreatedAt: now, UpdatedAt: now}
	if in.Type != nil {
		conn.Type = *in.Type
	}
	if err := s.apply(ctx, conn, in, true); err != nil {
		return nil, err
	}
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.CreateSSOConnection(ctx, conn); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "sso_connection.created", "sso_connection", conn.ID, connSummary(conn))
	})
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// connSummary is what the audit log keeps of a connection: never its secret.
func connSummary(c *gatehouse.SSOConnection) map[string]any {
	return map[string]any{"type": c.Type, "name": c.Name, "domains": c.Domains, "enforced": c.Enforced, "issuer": c.Issuer, "client_id": c.ClientID}
}

// Connections lists the organization's connections (settings read).
func (s *SSO) Connections(ctx context.Context, c *Caller) ([]*gatehouse.SSOConnection, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Read); err != nil {
		return nil, err
	}
	return s.store.R().SSOConnections(ctx, c.OrgID)
}

// Connection returns one connection of the organization (settings read);
// another organization's is 404.
func (s *SSO) Connection(ctx context.Context, c *Caller, id string) (*gatehouse.SSOConnection, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Read); err != nil {
		return nil, err
	}
	if !authz.IsUUID(id) {
		return nil, errSSONotFound
	}
	conn, err := s.store.R().SSOConnection(ctx, c.OrgID, id)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errSSONotFound
	}
	return conn, err
}

// UpdateConnection changes a connection (settings write); its type stays.
func (s *SSO) UpdateConnection(ctx context.Context, c *Caller, id string, in SSOConnectionInput) (*gatehouse.SSOConnection, error) {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return nil, err
	}
	if !authz.IsUUID(id) {
		return nil, errSSONotFound
	}
	conn, err := s.store.R().SSOConnection(ctx, c.OrgID, id)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, errSSONotFound
	}
	if err != nil {
		return nil, err
	}
	if in.Type != nil && *in.Type != conn.Type {
		return nil, gatehouse.Invalid("A connection's type cannot change; create another.", gatehouse.FieldError{Field: "type", Message: "cannot change"})
	}
	if err := s.apply(ctx, conn, in, false); err != nil {
		return nil, err
	}
	conn.UpdatedAt = s.now()
	err = s.store.Tx(ctx, func(tx *store.Conn) error {
		if err := tx.UpdateSSOConnection(ctx, conn); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "sso_connection.updated", "sso_connection", conn.ID, connSummary(conn))
	})
	if err != nil {
		return nil, err
	}
	s.forget(conn.ID)
	return conn, nil
}

// DeleteConnection removes a connection (settings write).
func (s *SSO) DeleteConnection(ctx context.Context, c *Caller, id string) error {
	if err := c.Require(authz.Organization(), gatehouse.OrgSettings, authz.Write); err != nil {
		return err
	}
	if !authz.IsUUID(id) {
		return errSSONotFound
	}
	err := s.store.Tx(ctx, func(tx *store.Conn) error {
		ok, err := tx.DeleteSSOConnection(ctx, c.OrgID, id)
		if err != nil {
			return err
		}
		if !ok {
			return errSSONotFound
		}
		return s.audit(ctx, tx, c.Actor, c.OrgID, "sso_connection.deleted", "sso_connection", id, nil)
	})
	s.forget(id)
	return err
}
