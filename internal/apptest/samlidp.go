package apptest

// A real SAML identity provider in-process: crewjam/saml's samlidp, with
// a fresh key and certificate, running on Gatehouse's test clock.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"html"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml/samlidp"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"
)

// SAMLIdP is a running samlidp server.
type SAMLIdP struct {
	*samlidp.Server
	HTTP *httptest.Server
	URL  string
}

type idpClock struct {
	clockwork.Clock
	now func() time.Time
}

func (c idpClock) Now() time.Time                  { return c.now() }
func (c idpClock) Since(t time.Time) time.Duration { return c.now().Sub(t) }
func (c idpClock) Until(t time.Time) time.Duration { return t.Sub(c.now()) }

// NewSAMLIdP starts an identity provider whose clock is now.
func NewSAMLIdP(tb testing.TB, now func() time.Time) *SAMLIdP {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test idp"},
		NotBefore: now().Add(-time.Hour), NotAfter: now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	hs := httptest.NewUnstartedServer(nil)
	u, _ := url.Parse("http://" + hs.Listener.Addr().String())
	srv, err := samlidp.New(samlidp.Options{URL: *u, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{}, Logger: log.New(io.Discard, "", 0),
		Clock: dsig.NewFakeClock(idpClock{Clock: clockwork.NewRealClock(), now: now})})
	if err != nil {
		tb.Fatal(err)
	}
	hs.Config.Handler = srv
	hs.Start()
	tb.Cleanup(hs.Close)
	return &SAMLIdP{Server: srv, HTTP: hs, URL: hs.URL}
}

// Metadata is the IdP's metadata document.
func (p *SAMLIdP) Metadata(tb testing.TB) string {
	tb.Helper()
	r := Get(tb, p.URL+"/metadata")
	if r.Status != 200 {
		tb.Fatalf("idp metadata: %d", r.Status)
	}
	return string(r.Body)
}

func (p *SAMLIdP) put(tb testing.TB, path, contentType, body string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPut, p.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("idp PUT %s: %d %s", path, resp.StatusCode, b)
	}
}

// AddUser creates an account at the IdP.
func (p *SAMLIdP) AddUser(tb testing.TB, name, email, password string) {
	p.put(tb, "/users/"+name, "application/json", `{"name":"`+name+`","email":"`+email+`","password":"`+password+`","common_name":"`+name+`"}`)
}

// AddServiceProvider registers a service provider by its metadata.
func (p *SAMLIdP) AddServiceProvider(tb testing.TB, id, metadata string) {
	p.put(tb, "/services/"+id, "application/samlmetadata+xml", metadata)
}

var (
	formInput  = regexp.MustCompile(`name="(\w+)" value="([^"]*)"`)
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

func formValues(body string) url.Values {
	v := url.Values{}
	for _, m := range formInput.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// SAMLPost is the IdP's answer: the form a browser would post to the ACS.
type SAMLPost struct {
	Action string
	Form   url.Values
}

// SignInAtIdP follows a redirect to the IdP's SSO URL, signs in there and
// returns the response form bound for the ACS.
func (p *SAMLIdP) SignInAtIdP(tb testing.TB, ssoURL, user, password string) *SAMLPost {
	tb.Helper()
	page := Get(tb, ssoURL)
	if page.Status != 200 {
		tb.Fatalf("idp sso: %d %s", page.Status, page.Body)
	}
	form := formValues(string(page.Body))
	form.Set("user", user)
	form.Set("password", password)
	resp, err := NoRedirect.PostForm(p.URL+"/sso", form)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formAction.FindStringSubmatch(string(b))
	if resp.StatusCode != 200 || m == nil {
		tb.Fatalf("idp sign-in: %d %s", resp.StatusCode, b)
	}
	return &SAMLPost{Action: html.UnescapeString(m[1]), Form: formValues(string(b))}
}

// PostACS posts the form to the server's ACS with the state cookie (nil for none).
func (s *Server) PostACS(post *SAMLPost, cookie *http.Cookie) *Response {
	s.TB.Helper()
	target := s.URL + strings.TrimPrefix(post.Action, s.Config.BaseURL)
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(post.Form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := NoRedirect.Do(req)
	if err != nil {
		s.TB.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
