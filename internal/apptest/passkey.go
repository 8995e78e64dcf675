package apptest

// A software WebAuthn authenticator for tests: an ES256 key, "none"
// attestation, CBOR (fxamacker/cbor), and authenticator data with its
// flags and signature counter built by hand from the specification — it
// shares no code with the server's verification (go-webauthn).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator flags (WebAuthn §6.1).
const (
	FlagUP = 0x01 // user present
	FlagUV = 0x04 // user verified
	FlagBE = 0x08 // backup eligible
	FlagBS = 0x10 // backup state
	FlagAT = 0x40 // attested credential data included
)

// SoftAuthenticator holds one credential.
type SoftAuthenticator struct {
	Origin     string // what the client data says the page's origin was
	RPID       string
	Key        *ecdsa.PrivateKey
	CredID     []byte
	UserHandle []byte
	Count      uint32 // the signature counter; each assertion adds one first
	Flags      byte   // extra flags, such as FlagBE|FlagBS for a synced passkey
}

// NewSoftAuthenticator makes a fresh key for rpID, used from origin.
func NewSoftAuthenticator(tb testing.TB, origin, rpID string) *SoftAuthenticator {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &SoftAuthenticator{Origin: origin, RPID: rpID, Key: k, CredID: id}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		tb.Fatalf("not base64url: %q", s)
	}
	return b
}

func (a *SoftAuthenticator) clientData(tb testing.TB, typ string, options map[string]any) []byte {
	tb.Helper()
	pk, ok := options["publicKey"].(map[string]any)
	if !ok {
		tb.Fatalf("options are not {\"publicKey\": …}: %v", options)
	}
	challenge, _ := pk["challenge"].(string)
	if len(unb64(tb, challenge)) < 16 {
		tb.Fatalf("challenge %q is too short", challenge)
	}
	cd, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return cd
}

func (a *SoftAuthenticator) authData(flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(a.RPID))
	out := append([]byte{}, rp[:]...)
	out = append(out, flags|a.Flags)
	out = binary.BigEndian.AppendUint32(out, a.Count)
	return append(out, attested...)
}

// Register answers creation options ({"publicKey": …}) with a
// RegistrationResponseJSON.
func (a *SoftAuthenticator) Register(tb testing.TB, options map[string]any) map[string]any {
	tb.Helper()
	cd := a.clientData(tb, "webauthn.create", options)
	user, _ := options["publicKey"].(map[string]any)["user"].(map[string]any)
	if id, _ := user["id"].(string); id != "" {
		a.UserHandle = unb64(tb, id)
	}
	// COSE_Key of an EC2 P-256 key for ES256 (RFC 9053).
	raw, err := a.Key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		tb.Fatal(err)
	}
	x, y := raw[1:33], raw[33:65]
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		tb.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: zero for "none"
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.CredID)))
	attested = append(attested, a.CredID...)
	attested = append(attested, cose...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(FlagUP|FlagUV|FlagAT, attested)})
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]any{"id": b64(a.CredID), "rawId": b64(a.CredID), "type": "public-key", "authenticatorAttachment": "platform",
		"response":               map[string]any{"clientDataJSON": b64(cd), "attestationObject": b64(att), "transports": []string{"internal"}},
		"clientExtensionResults": map[string]any{}}
}

// Sign answers request options with an AuthenticationResponseJSON, adding
// one to the counter first.
func (a *SoftAuthenticator) Sign(tb testing.TB, options map[string]any) map[string]any {
	tb.Helper()
	cd := a.clientData(tb, "webauthn.get", options)
	a.Count++
	ad := a.authData(FlagUP|FlagUV, nil)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	return map[string]any{"id": b64(a.CredID), "rawId": b64(a.CredID), "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{"clientDataJSON": b64(cd), "authenticatorData": b64(ad), "signature": b64(sig),
			"userHandle": b64(a.UserHandle)},
		"clientExtensionResults": map[string]any{}}
}
