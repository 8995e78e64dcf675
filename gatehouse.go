package gatehouse

import (
	"encoding/json"
	"strings"
	"time"
)

// Version is the running build's version, set with -ldflags at release time.
var Version = "0.1.0-dev"

// Principal kinds.
const (
	PrincipalUser   = "user"
	PrincipalAPIKey = "api_key"
)

// Actor kinds of audit events besides the principals: someone not signed
// in (declining through an invitation link) and Gatehouse itself (an
// invitation expiring, or revoked because its inviter lost the rights).
const (
	ActorAnonymous = "anonymous"
	ActorSystem    = "system"
)

// User is a person with an account. PasswordHash is empty for accounts that
// only sign in through OAuth/SSO.
type User struct {
	ID            string
	Email         string
	Name          string
	PasswordHash  string
	EmailVerified bool
	AvatarType    string // MIME type of the stored avatar, "" when none
	AvatarVersion int64  // bumps on each upload so avatar URLs change
	CurrentOrgID  string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// HasPassword reports whether the user can sign in with a password.
func (u *User) HasPassword() bool { return u.PasswordHash != "" }

// Session is one sign-in on one device. Only hashes of its tokens are kept.
type Session struct {
	ID               string
	UserID           string
	AccessHash       string
	AccessExpiresAt  time.Time
	RefreshHash      string
	RefreshExpiresAt time.Time
	IP               string
	UserAgent        string
	CreatedAt        time.Time
	LastUsedAt       time.Time
	// CurrentOrgID is the organization the session acts in ("" for none).
	CurrentOrgID string
	// RefreshSeed and RefreshGen derive the session's tokens (with the
	// secret key); RotatedAt is the last rotation (zero before any).
	RefreshSeed string
	RefreshGen  int64
	RotatedAt   time.Time
	// AMR says how the session was opened (RFC 8176: "pwd", "otp", "hwk",
	// "swk", "fed"); "pwd" alone for sessions older than second factors.
	AMR []string
}

// MultiFactor reports whether amr holds a second factor (or a federated
// sign-in, whose identity provider answers for its factors).
func MultiFactor(amr []string) bool {
	for _, m := range amr {
		switch m {
		case "otp", "hwk", "swk", "fed", "mfa":
			return true
		}
	}
	return false
}

// Actor is who performs a change: a user or an API key, with where it came from.
type Actor struct {
	Kind      string // PrincipalUser or PrincipalAPIKey; "" for the system
	ID        string
	Name      string
	IP        string
	UserAgent string
	RequestID string
}

// AuditEvent records one change. Summary holds what changed, never secrets.
type AuditEvent struct {
	ID         string
	OrgID      string // "" for events outside any organization
	ActorKind  string
	ActorID    string
	ActorName  string
	Action     string // "<resource>.<verb>", e.g. "invitation.created"
	TargetType string
	TargetID   string
	Summary    json.RawMessage
	IP         string
	UserAgent  string
	RequestID  string
	CreatedAt  time.Time
	Seq        int64
	PrevHash   string
	Hash       string
	KeyID      string // the audit key that sealed Hash; "" for legacy plain SHA-256
}

// Outbox message statuses.
const (
	MailQueued = "queued"
	MailSent   = "sent"
	MailFailed = "failed"
)

// MailMessage is an email as composed by a service, before encryption.
type MailMessage struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// Kind and RefID let a resource find its mail's delivery status,
	// e.g. Kind "invitation" with the invitation's id.
	Kind  string
	RefID string
}

// OutboxMessage is a queued email as the outbox holds it. Text and HTML are
// filled only where the body was decrypted, and are empty once delivered.
type OutboxMessage struct {
	ID            string
	To            string
	Subject       string
	Text          string
	HTML          string
	Kind          string
	RefID         string
	Status        string
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
	CreatedAt     time.Time
	SentAt        time.Time
}

// Principal is who a request acts as: a signed-in user (through a session)
// or an API key.
type Principal struct {
	Kind      string // PrincipalUser or PrincipalAPIKey
	UserID    string // the user, or the key's creator
	SessionID string // for users
	APIKeyID  string // for keys
	OrgID     string // a key's organization
	Name      string
	// CurrentOrgID is a session's current organization ("" for none).
	CurrentOrgID string
	// AMR is how a session was opened (nil for API keys).
	AMR []string
}

// ID is the principal's own id: the user's or the key's.
func (p *Principal) ID() string {
	if p.Kind == PrincipalAPIKey {
		return p.APIKeyID
	}
	return p.UserID
}

// Tokens are what a sign-in or refresh hands out, in clear this once.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	SessionID    string
}

// CleanHeader makes a header value storable as text: valid UTF-8, no NUL,
// at most 512 bytes. Clients may send any bytes.
func CleanHeader(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) > 512 {
		s = strings.ToValidUTF8(s[:512], "")
	}
	return s
}
