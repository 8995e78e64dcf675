package store

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"github.com/gatehouse/gatehouse"
)

const ssoColumns = `id, org_id, type, name, issuer, client_id, client_secret_sealed, idp_metadata_xml, idp_metadata_url, enforced, created_at, updated_at`

func (c *Conn) scanSSO(row interface{ Scan(...any) error }) (*gatehouse.SSOConnection, error) {
	var s gatehouse.SSOConnection
	var sealed []byte
	var created, updated int64
	if err := row.Scan(&s.ID, &s.OrgID, &s.Type, &s.Name, &s.Issuer, &s.ClientID, &sealed, &s.IdPMetadataXML, &s.IdPMetadataURL, &s.Enforced, &created, &updated); err != nil {
		return nil, err
	}
	if len(sealed) > 0 {
		plain, err := c.s.box.Open(sealed)
		if err != nil {
			return nil, gatehouse.Internal(err)
		}
		s.ClientSecret = string(plain)
	}
	s.CreatedAt, s.UpdatedAt = fromTS(created), fromTS(updated)
	return &s, nil
}

var errDomainTaken = &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "domain_taken",
	Message: "One of these domains already belongs to another SSO connection."}

// CreateSSOConnection inserts a connection and claims its domains; a domain
// of another connection is a conflict (domain_taken).
func (c *Conn) CreateSSOConnection(ctx context.Context, s *gatehouse.SSOConnection) error {
	sealed, err := c.sealSecret(s.ClientSecret)
	if err != nil {
		return err
	}
	if _, err := c.exec(ctx, `INSERT INTO sso_connections (`+ssoColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		s.ID, s.OrgID, s.Type, s.Name, s.Issuer, s.ClientID, sealed, s.IdPMetadataXML, s.IdPMetadataURL, s.Enforced, ts(s.CreatedAt), ts(s.UpdatedAt)); err != nil {
		return err
	}
	return c.claimDomains(ctx, s)
}

func (c *Conn) claimDomains(ctx context.Context, s *gatehouse.SSOConnection) error {
	if _, err := c.exec(ctx, `DELETE FROM sso_domains WHERE connection_id = $1`, s.ID); err != nil {
		return err
	}
	for _, d := range s.Domains {
		_, err := c.exec(ctx, `INSERT INTO sso_domains (domain, connection_id, org_id) VALUES ($1, $2, $3)`, d, s.ID, s.OrgID)
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			e := *errDomainTaken
			e.Extra = map[string]any{"domain": d}
			return &e
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// UpdateSSOConnection rewrites a connection and its domains.
func (c *Conn) UpdateSSOConnection(ctx context.Context, s *gatehouse.SSOConnection) error {
	sealed, err := c.sealSecret(s.ClientSecret)
	if err != nil {
		return err
	}
	res, err := c.exec(ctx, `UPDATE sso_connections SET name = $3, issuer = $4, client_id = $5, client_secret_sealed = $6,
		idp_metadata_xml = $7, idp_metadata_url = $8, enforced = $9, updated_at = $10 WHERE id = $1 AND org_id = $2`,
		s.ID, s.OrgID, s.Name, s.Issuer, s.ClientID, sealed, s.IdPMetadataXML, s.IdPMetadataURL, s.Enforced, ts(s.UpdatedAt))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "SSO connection not found.")
	}
	return c.claimDomains(ctx, s)
}

// DeleteSSOConnection removes a connection of an organization (its domains go
// with it); it reports whether it existed.
func (c *Conn) DeleteSSOConnection(ctx context.Context, orgID, id string) (bool, error) {
	if _, err := c.exec(ctx, `DELETE FROM sso_domains WHERE connection_id = $1 AND org_id = $2`, id, orgID); err != nil {
		return false, err
	}
	res, err := c.exec(ctx, `DELETE FROM sso_connections WHERE id = $1 AND org_id = $2`, id, orgID)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func (c *Conn) domainsOf(ctx context.Context, s *gatehouse.SSOConnection) error {
	rows, err := c.q.QueryContext(ctx, `SELECT domain FROM sso_domains WHERE connection_id = $1`, s.ID)
	if err != nil {
		return c.wrap(err, "sso domains")
	}
	defer rows.Close()
	s.Domains = []string{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return c.wrap(err, "scan sso domain")
		}
		s.Domains = append(s.Domains, d)
	}
	sort.Strings(s.Domains)
	return c.wrap(rows.Err(), "sso domains rows")
}

// SSOConnection returns one connection; orgID "" finds it in any organization.
func (c *Conn) SSOConnection(ctx context.Context, orgID, id string) (*gatehouse.SSOConnection, error) {
	s, err := c.scanSSO(c.q.QueryRowContext(ctx, `SELECT `+ssoColumns+` FROM sso_connections WHERE id = $1 AND ($2 = '' OR org_id = $2)`, id, orgID))
	if err != nil {
		return nil, notFound(c.wrap(err, "sso connection"), "SSO connection")
	}
	return s, c.domainsOf(ctx, s)
}

// SSOConnectionForDomain returns the connection that signs in a domain, or not found.
func (c *Conn) SSOConnectionForDomain(ctx context.Context, domain string) (*gatehouse.SSOConnection, error) {
	var id string
	err := c.q.QueryRowContext(ctx, `SELECT connection_id FROM sso_domains WHERE domain = $1`, domain).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gatehouse.Errorf(gatehouse.ENOTFOUND, "No SSO connection signs in this domain.")
	}
	if err != nil {
		return nil, c.wrap(err, "sso domain")
	}
	return c.SSOConnection(ctx, "", id)
}

// SSOConnections lists an organization's connections, oldest first.
func (c *Conn) SSOConnections(ctx context.Context, orgID string) ([]*gatehouse.SSOConnection, error) {
	rows, err := c.q.QueryContext(ctx, `SELECT `+ssoColumns+` FROM sso_connections WHERE org_id = $1 ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, c.wrap(err, "list sso connections")
	}
	var out []*gatehouse.SSOConnection
	for rows.Next() {
		s, err := c.scanSSO(rows)
		if err != nil {
			rows.Close()
			return nil, c.wrap(err, "scan sso connection")
		}
		out = append(out, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, c.wrap(err, "sso rows")
	}
	for _, s := range out {
		if err := c.domainsOf(ctx, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SSOConnectionName returns a connection's name.
func (c *Conn) SSOConnectionName(ctx context.Context, id string) (string, error) {
	var name string
	err := c.q.QueryRowContext(ctx, `SELECT name FROM sso_connections WHERE id = $1`, id).Scan(&name)
	return name, notFound(c.wrap(err, "sso connection name"), "SSO connection")
}

// MarkSessionSSO records that a session was opened through an
// organization's SSO connection.
func (c *Conn) MarkSessionSSO(ctx context.Context, sessionID, orgID, connectionID string) error {
	_, err := c.exec(ctx, `UPDATE sessions SET sso_org_id = $2, sso_connection_id = $3 WHERE id = $1`, sessionID, orgID, connectionID)
	return err
}

// SessionSSO tells through which organization's SSO (and connection) a
// session was opened; "" when it was not.
func (c *Conn) SessionSSO(ctx context.Context, sessionID string) (orgID, connectionID string, err error) {
	err = c.q.QueryRowContext(ctx, `SELECT COALESCE(sso_org_id, ''), COALESCE(sso_connection_id, '') FROM sessions WHERE id = $1`, sessionID).Scan(&orgID, &connectionID)
	return orgID, connectionID, notFound(c.wrap(err, "session sso"), "Session")
}

// UseSAMLAssertion records an assertion id once: a second use before it
// expires answers false. Expired ids are swept on the way.
func (c *Conn) UseSAMLAssertion(ctx context.Context, id, connectionID string, expires, now time.Time) (bool, error) {
	if _, err := c.exec(ctx, `DELETE FROM saml_assertions WHERE expires_at < $1`, ts(now)); err != nil {
		return false, err
	}
	res, err := c.exec(ctx, `INSERT INTO saml_assertions (id, connection_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		id, connectionID, ts(expires))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
