package store

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// TestAuditSealFormat pins the bytes an event's seal is computed over: chains
// written by earlier builds must keep verifying, so these two values may
// never change (they were computed with the fmt-based encoding the seal
// started with: each field as "%d:%s;", its length and itself).
func TestAuditSealFormat(t *testing.T) {
	e := &gatehouse.AuditEvent{PrevHash: "abc", ID: "0192f0e2-7d2c-7a4b-8000-000000000001", Seq: 42, OrgID: "org-1",
		ActorKind: "user", ActorID: "u-1", ActorName: "Zoë; 1:2", Action: "invitation.created", TargetType: "invitation",
		TargetID: "inv-1", Summary: []byte(`{"email":"a@b.c"}`), IP: "127.0.0.1", UserAgent: "curl/8", RequestID: "req-1",
		CreatedAt: time.UnixMicro(1765152000123456), KeyID: "k1"}
	if got, want := AuditHash(e), "56816267653d0b70eec954d8207fc91d3b504812c11f6663f93ded45bb5c7116"; got != want {
		t.Errorf("AuditHash = %s, want %s", got, want)
	}
	if got, want := AuditMAC([]byte("0123456789abcdef0123456789abcdef"), e), "dd0331dd1f77347dd22065a411d6de3c8e1f7f19043ca356e918f7c8b2ee198a"; got != want {
		t.Errorf("AuditMAC = %s, want %s", got, want)
	}
	e.Seq, e.CreatedAt = -7, time.UnixMicro(-5)
	if got, want := AuditHash(e), "37420cc0cf4a0dea4782edf25bf4ad2e9af9ae027313fd46eb06dc889f275fce"; got != want {
		t.Errorf("AuditHash (negative numbers) = %s, want %s", got, want)
	}
}

func BenchmarkAuditMAC(b *testing.B) {
	e := &gatehouse.AuditEvent{PrevHash: "abc", ID: "0192f0e2-7d2c-7a4b-8000-000000000001", Seq: 42, OrgID: "org-1",
		ActorKind: "user", ActorID: "u-1", ActorName: "Owner", Action: "invitation.created", TargetType: "invitation",
		TargetID: "inv-1", Summary: []byte(`{"authentication":"password","email":"invitee1@example.com","expires_at":"2026-12-15T00:00:00Z","permissions":[],"role_id":"viewer"}`),
		IP: "127.0.0.1", UserAgent: "Go-http-client/1.1", RequestID: "req-1", CreatedAt: time.UnixMicro(1765152000123456), KeyID: "k1"}
	key := []byte("0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	for b.Loop() {
		_ = AuditMAC(key, e)
	}
}
