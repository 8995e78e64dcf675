package sso

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse/gatehouse"
)

// SAML is Gatehouse as the service provider of one SAML connection. Its
// entity id is its metadata URL; it needs no key of its own (requests are
// not signed, assertions must not be encrypted).
type SAML struct {
	sp *saml.ServiceProvider
}

// clock lets crewjam/saml and goxmldsig read Gatehouse's clock.
type clock struct {
	clockwork.Clock
	now func() time.Time
}

func (c clock) Now() time.Time                  { return c.now() }
func (c clock) Since(t time.Time) time.Duration { return c.now().Sub(t) }
func (c clock) Until(t time.Time) time.Duration { return t.Sub(c.now()) }

// NewSAML builds the service provider from the IdP's metadata.
func NewSAML(entityID, acsURL, idpMetadataXML string, now func() time.Time) (*SAML, error) {
	idp, err := samlsp.ParseMetadata([]byte(idpMetadataXML))
	if err != nil {
		return nil, err
	}
	meta, err := url.Parse(entityID)
	if err != nil {
		return nil, err
	}
	acs, err := url.Parse(acsURL)
	if err != nil {
		return nil, err
	}
	sp := &saml.ServiceProvider{EntityID: entityID, MetadataURL: *meta, AcsURL: *acs, IDPMetadata: idp,
		AuthnNameIDFormat:                saml.EmailAddressNameIDFormat,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		Clock:                            dsig.NewFakeClock(clock{Clock: clockwork.NewRealClock(), now: now})}
	return &SAML{sp: sp}, nil
}

// Metadata is the service provider's metadata document, for the IdP's administrator.
func (s *SAML) Metadata() ([]byte, error) {
	return xml.MarshalIndent(s.sp.Metadata(), "", "  ")
}

// AuthURL returns the IdP's sign-in URL (HTTP-Redirect binding) carrying an
// AuthnRequest, and that request's id, which the response must answer.
func (s *SAML) AuthURL(relayState string) (string, string, error) {
	loc := s.sp.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if loc == "" {
		return "", "", gatehouse.Invalid("The identity provider's metadata has no HTTP-Redirect sign-on service.")
	}
	req, err := s.sp.MakeAuthenticationRequest(loc, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", "", gatehouse.Internal(err)
	}
	u, err := req.Redirect(relayState, s.sp)
	if err != nil {
		return "", "", gatehouse.Internal(err)
	}
	return u.String(), req.ID, nil
}

func badAssertion(cause error) error {
	return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "invalid_saml_response",
		Message: "The identity provider's SAML response is invalid (signature, audience, recipient, request or validity); start again.", Cause: cause}
}

// Assertion is what a verified SAML response asserted.
type Assertion struct {
	Identity
	ID      string    // the assertion's id, for replay refusal
	Expires time.Time // until when it could be replayed
}

// Parse verifies a response posted to the ACS: the response or assertion
// signed by the IdP (crewjam/saml), and the assertion itself signed too
// (signed assertions only); answering requestID; audience, recipient,
// destination and validity window (clock skew bounded by saml.MaxClockSkew).
func (s *SAML) Parse(r *http.Request, requestID string) (*Assertion, error) {
	if err := requireSignedAssertions(r.PostForm.Get("SAMLResponse")); err != nil {
		return nil, badAssertion(err)
	}
	a, err := s.sp.ParseResponse(r, []string{requestID})
	if err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) {
			err = ire.PrivateErr
		}
		return nil, badAssertion(err)
	}
	out := &Assertion{ID: a.ID, Expires: s.sp.Clock.Now().Add(saml.MaxIssueDelay + saml.MaxClockSkew)}
	if a.Conditions != nil && !a.Conditions.NotOnOrAfter.IsZero() {
		out.Expires = a.Conditions.NotOnOrAfter.Add(saml.MaxClockSkew)
	}
	var nameID *saml.NameID
	if a.Subject != nil {
		nameID = a.Subject.NameID
	}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if len(at.Values) == 0 {
				continue
			}
			v := strings.TrimSpace(at.Values[0].Value)
			switch strings.ToLower(at.FriendlyName + "|" + at.Name) {
			case "mail|urn:oid:0.9.2342.19200300.100.1.3", "|email", "|mail", "email|email", "|http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress":
				out.Email = v
			case "cn|urn:oid:2.5.4.3", "|name", "|displayname":
				out.Name = v
			}
		}
	}
	if nameID != nil {
		if out.Email == "" && strings.Contains(nameID.Value, "@") {
			out.Email = strings.TrimSpace(nameID.Value)
		}
		if nameID.Format != string(saml.TransientNameIDFormat) {
			out.Subject = nameID.Value
		}
	}
	if out.Subject == "" {
		out.Subject = strings.ToLower(out.Email)
	}
	if out.Subject == "" || out.ID == "" {
		return nil, badAssertion(fmt.Errorf("no subject or id"))
	}
	return out, nil
}

// requireSignedAssertions refuses a response holding an assertion without
// its own signature, or an encrypted one (Gatehouse has no key to open it).
func requireSignedAssertions(encoded string) error {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return fmt.Errorf("SAMLResponse is not base64: %w", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return fmt.Errorf("SAMLResponse is not XML: %w", err)
	}
	root := doc.Root()
	if root == nil {
		return errors.New("empty SAMLResponse")
	}
	found := 0
	for _, el := range root.ChildElements() {
		switch el.Tag {
		case "EncryptedAssertion":
			return errors.New("encrypted assertions are not accepted")
		case "Assertion":
			found++
			signed := false
			for _, c := range el.ChildElements() {
				if c.Tag == "Signature" && c.NamespaceURI() == dsig.Namespace {
					signed = true
				}
			}
			if !signed {
				return errors.New("an assertion is not signed")
			}
		}
	}
	if found != 1 {
		return fmt.Errorf("%d assertions, want 1", found)
	}
	return nil
}
