package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/store"
)

// runSSO covers SSO connections, their domains, sealed secrets, SAML
// assertion replay and sessions marked as opened through SSO.
func runSSO(t *testing.T, e Engine) {
	ctx := context.Background()
	s := e.Open(t)
	u := mustCreateUser(t, s, "sso-owner@example.com")
	org := func(name string) string {
		o := &gatehouse.Organization{ID: newID(), Name: name, CreatedBy: u.ID, CreatedAt: baseTime, UpdatedAt: baseTime}
		mustTx(t, s, func(tx *store.Conn) error { return tx.CreateOrg(ctx, o) })
		return o.ID
	}
	a, b := org("A"), org("B")
	conn := &gatehouse.SSOConnection{ID: newID(), OrgID: a, Type: gatehouse.SSOTypeOIDC, Name: "A IdP", Issuer: "https://idp.a.test",
		ClientID: "cid", ClientSecret: "very-secret-client-secret", Domains: []string{"a.test", "a2.test"}, CreatedAt: baseTime, UpdatedAt: baseTime}

	t.Run("CreateSealedDomainsUnique", func(t *testing.T) {
		mustTx(t, s, func(tx *store.Conn) error { return tx.CreateSSOConnection(ctx, conn) })
		var sealed []byte
		if err := s.ReaderDB().QueryRow(`SELECT client_secret_sealed FROM sso_connections WHERE id = $1`, conn.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if len(sealed) == 0 || bytes.Contains(sealed, []byte(conn.ClientSecret)) {
			t.Fatal("client secret not sealed")
		}
		got, err := s.R().SSOConnection(ctx, a, conn.ID)
		if err != nil || got.ClientSecret != conn.ClientSecret || len(got.Domains) != 2 || got.Domains[0] != "a.test" {
			t.Fatalf("%+v %v", got, err)
		}
		_, err = s.R().SSOConnection(ctx, b, conn.ID)
		wantCode(t, err, gatehouse.ENOTFOUND)
		other := &gatehouse.SSOConnection{ID: newID(), OrgID: b, Type: gatehouse.SSOTypeSAML, Name: "B", Domains: []string{"b.test", "a2.test"}, CreatedAt: baseTime, UpdatedAt: baseTime}
		err = s.Tx(ctx, func(tx *store.Conn) error { return tx.CreateSSOConnection(ctx, other) })
		if e := gatehouse.AsError(err); e.Code != gatehouse.ECONFLICT || e.Reason != "domain_taken" {
			t.Fatalf("err = %v", err)
		}
		if _, err := s.R().SSOConnection(ctx, "", other.ID); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatal("a refused connection was kept")
		}
		byDomain, err := s.R().SSOConnectionForDomain(ctx, "a2.test")
		if err != nil || byDomain.ID != conn.ID {
			t.Fatalf("%+v %v", byDomain, err)
		}
	})
	t.Run("UpdateMovesDomainsDeleteFrees", func(t *testing.T) {
		conn.Domains, conn.Enforced, conn.UpdatedAt = []string{"a3.test"}, true, baseTime.Add(time.Hour)
		mustTx(t, s, func(tx *store.Conn) error { return tx.UpdateSSOConnection(ctx, conn) })
		if _, err := s.R().SSOConnectionForDomain(ctx, "a.test"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatal("an old domain still leads to the connection")
		}
		list, err := s.R().SSOConnections(ctx, a)
		if err != nil || len(list) != 1 || !list[0].Enforced || list[0].Domains[0] != "a3.test" {
			t.Fatalf("%+v %v", list, err)
		}
		var ok bool
		mustTx(t, s, func(tx *store.Conn) (err error) { ok, err = tx.DeleteSSOConnection(ctx, b, conn.ID); return })
		if ok {
			t.Fatal("deleted through another organization")
		}
		mustTx(t, s, func(tx *store.Conn) (err error) { ok, err = tx.DeleteSSOConnection(ctx, a, conn.ID); return })
		if !ok {
			t.Fatal("not deleted")
		}
		if _, err := s.R().SSOConnectionForDomain(ctx, "a3.test"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Fatal("a deleted connection's domain remains")
		}
	})
	t.Run("AssertionReplayRefused", func(t *testing.T) {
		use := func(at time.Time) bool {
			var ok bool
			mustTx(t, s, func(tx *store.Conn) (err error) {
				ok, err = tx.UseSAMLAssertion(ctx, "assertion-1", "c", baseTime.Add(5*time.Minute), at)
				return err
			})
			return ok
		}
		if !use(baseTime) || use(baseTime.Add(time.Minute)) {
			t.Fatal("an assertion id was accepted twice")
		}
	})
	t.Run("SessionMarked", func(t *testing.T) {
		sess := &gatehouse.Session{ID: newID(), UserID: u.ID, AccessHash: newID(), RefreshHash: newID(), AccessExpiresAt: baseTime, RefreshExpiresAt: baseTime, CreatedAt: baseTime, LastUsedAt: baseTime}
		mustTx(t, s, func(tx *store.Conn) error { return tx.CreateSession(ctx, sess) })
		if o, c, err := s.R().SessionSSO(ctx, sess.ID); err != nil || o != "" || c != "" {
			t.Fatalf("%q %q %v", o, c, err)
		}
		mustTx(t, s, func(tx *store.Conn) error { return tx.MarkSessionSSO(ctx, sess.ID, a, "conn") })
		if o, c, err := s.R().SessionSSO(ctx, sess.ID); err != nil || o != a || c != "conn" {
			t.Fatalf("%q %q %v", o, c, err)
		}
	})
}
