package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/store"
)

func runUsers(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("CreateUser", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			u := &gatehouse.User{ID: newID(), Email: "  Ada.Lovelace@Example.COM ", Name: "Ada", PasswordHash: "$argon2id$x",
				EmailVerified: true, CreatedAt: baseTime}
			mustTx(t, s, func(tx *store.Conn) error { return tx.CreateUser(ctx, u) })
			got, err := s.R().UserByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Email != "Ada.Lovelace@Example.COM" || got.Name != "Ada" || got.PasswordHash != "$argon2id$x" || !got.EmailVerified ||
				!got.HasPassword() || got.CurrentOrgID != "" || got.AvatarType != "" || got.AvatarVersion != 0 ||
				!equalTime(got.CreatedAt, baseTime) || !equalTime(got.UpdatedAt, baseTime) {
				t.Fatalf("user read back as %+v", got)
			}
		})

		t.Run("ErrEmailTaken", func(t *testing.T) {
			s := e.Open(t)
			first := mustCreateUser(t, s, "ada@example.com")
			for _, email := range []string{"ada@example.com", "ADA@Example.com", " ada@example.com"} {
				err := s.Tx(ctx, func(tx *store.Conn) error {
					return tx.CreateUser(ctx, &gatehouse.User{ID: newID(), Email: email, CreatedAt: baseTime})
				})
				var ge *gatehouse.Error
				if !errors.As(err, &ge) || ge.Code != gatehouse.ECONFLICT || ge.Reason != "email_taken" {
					t.Fatalf("CreateUser(%q) = %v, want conflict with reason email_taken", email, err)
				}
			}
			got, err := s.R().UserByEmail(ctx, "ada@example.com")
			if err != nil || got.ID != first.ID {
				t.Fatalf("UserByEmail = %v, %v; want the first user", got, err)
			}
		})

		t.Run("ErrDuplicateID", func(t *testing.T) {
			s := e.Open(t)
			first := mustCreateUser(t, s, "ada@example.com")
			err := s.Tx(ctx, func(tx *store.Conn) error {
				return tx.CreateUser(ctx, &gatehouse.User{ID: first.ID, Email: "bob@example.com", CreatedAt: baseTime})
			})
			wantCode(t, err, gatehouse.ECONFLICT)
		})
	})

	t.Run("UserByEmail", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			u := mustCreateUser(t, s, "Ada@Example.com")
			for _, q := range []string{"ada@example.com", "ADA@EXAMPLE.COM", " Ada@Example.com\t"} {
				got, err := s.R().UserByEmail(ctx, q)
				if err != nil || got.ID != u.ID || got.Email != "Ada@Example.com" {
					t.Fatalf("UserByEmail(%q) = %+v, %v", q, got, err)
				}
			}
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			s := e.Open(t)
			mustCreateUser(t, s, "ada@example.com")
			_, err := s.R().UserByEmail(ctx, "bob@example.com")
			wantCode(t, err, gatehouse.ENOTFOUND)
			_, err = s.R().UserByID(ctx, newID())
			wantCode(t, err, gatehouse.ENOTFOUND)
		})
	})

	t.Run("Update", func(t *testing.T) {
		s := e.Open(t)
		u := mustCreateUser(t, s, "ada@example.com")
		later := baseTime.Add(time.Hour)
		check := func(t *testing.T, ok func(*gatehouse.User) bool) {
			t.Helper()
			got, err := s.R().UserByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !ok(got) {
				t.Fatalf("user is %+v", got)
			}
		}
		t.Run("UpdateUserProfile", func(t *testing.T) {
			mustTx(t, s, func(tx *store.Conn) error { return tx.UpdateUserProfile(ctx, u.ID, "Ada L.", later) })
			check(t, func(g *gatehouse.User) bool { return g.Name == "Ada L." && equalTime(g.UpdatedAt, later) })
		})
		t.Run("SetUserPassword", func(t *testing.T) {
			check(t, func(g *gatehouse.User) bool { return !g.HasPassword() })
			mustTx(t, s, func(tx *store.Conn) error { return tx.SetUserPassword(ctx, u.ID, "$argon2id$new", later) })
			check(t, func(g *gatehouse.User) bool { return g.PasswordHash == "$argon2id$new" && g.HasPassword() })
		})
		t.Run("MarkEmailVerified", func(t *testing.T) {
			check(t, func(g *gatehouse.User) bool { return !g.EmailVerified })
			mustTx(t, s, func(tx *store.Conn) error { return tx.MarkEmailVerified(ctx, u.ID, later) })
			check(t, func(g *gatehouse.User) bool { return g.EmailVerified })
		})
		t.Run("SetCurrentOrg", func(t *testing.T) {
			mustTx(t, s, func(tx *store.Conn) error { return tx.SetCurrentOrg(ctx, u.ID, "org-1", later) })
			check(t, func(g *gatehouse.User) bool { return g.CurrentOrgID == "org-1" })
			mustTx(t, s, func(tx *store.Conn) error { return tx.SetCurrentOrg(ctx, u.ID, "", later) })
			check(t, func(g *gatehouse.User) bool { return g.CurrentOrgID == "" })
		})
		// Nothing else changed along the way.
		check(t, func(g *gatehouse.User) bool { return g.Email == u.Email && equalTime(g.CreatedAt, baseTime) })
	})

	t.Run("Avatar", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			u := mustCreateUser(t, s, "ada@example.com")
			png := []byte("\x89PNG\r\n\x1a\n\x00\x00binary\xff\x00")
			for i, img := range []struct {
				typ  string
				data []byte
			}{{"image/png", png}, {"image/webp", []byte("RIFF....WEBP")}} {
				var version int64
				mustTx(t, s, func(tx *store.Conn) (err error) {
					version, err = tx.SetAvatar(ctx, u.ID, img.typ, img.data, baseTime)
					return err
				})
				if version != int64(i+1) {
					t.Fatalf("SetAvatar version = %d, want %d", version, i+1)
				}
				typ, data, v, err := s.R().Avatar(ctx, u.ID)
				if err != nil || typ != img.typ || !bytes.Equal(data, img.data) || v != version {
					t.Fatalf("Avatar = %q, %q, %d, %v; want %q, %q, %d", typ, data, v, err, img.typ, img.data, version)
				}
				got, err := s.R().UserByID(ctx, u.ID)
				if err != nil || got.AvatarType != img.typ || got.AvatarVersion != version {
					t.Fatalf("user avatar fields = %q, %d, %v", got.AvatarType, got.AvatarVersion, err)
				}
			}
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			s := e.Open(t)
			u := mustCreateUser(t, s, "ada@example.com")
			_, _, _, err := s.R().Avatar(ctx, u.ID)
			wantCode(t, err, gatehouse.ENOTFOUND)
			err = s.Tx(ctx, func(tx *store.Conn) error {
				_, err := tx.SetAvatar(ctx, newID(), "image/png", []byte("x"), baseTime)
				return err
			})
			wantCode(t, err, gatehouse.ENOTFOUND)
		})
	})
}

// newSession returns an unsaved session of user with fresh token hashes.
func newSession(userID string, created time.Time) *gatehouse.Session {
	return &gatehouse.Session{
		ID: newID(), UserID: userID,
		AccessHash: secret.HashToken(secret.Token("at_", 32)), AccessExpiresAt: created.Add(15 * time.Minute),
		RefreshHash: secret.HashToken(secret.Token("rt_", 32)), RefreshExpiresAt: created.Add(30 * 24 * time.Hour),
		IP: "192.0.2.7", UserAgent: "Firefox", CreatedAt: created, LastUsedAt: created,
	}
}

func mustCreateSession(tb testing.TB, s *store.Store, ss *gatehouse.Session) {
	tb.Helper()
	mustTx(tb, s, func(tx *store.Conn) error { return tx.CreateSession(context.Background(), ss) })
}

func sessionIDs(ss []*gatehouse.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func runSessions(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("CreateSession", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			u := mustCreateUser(t, s, "ada@example.com")
			want := newSession(u.ID, baseTime)
			mustCreateSession(t, s, want)
			for name, find := range map[string]func() (*gatehouse.Session, error){
				"ByID":      func() (*gatehouse.Session, error) { return s.R().SessionByID(ctx, want.ID) },
				"ByAccess":  func() (*gatehouse.Session, error) { return s.R().SessionByAccessHash(ctx, want.AccessHash) },
				"ByRefresh": func() (*gatehouse.Session, error) { return s.R().SessionByRefreshHash(ctx, want.RefreshHash) },
			} {
				got, err := find()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got.ID != want.ID || got.UserID != want.UserID || got.AccessHash != want.AccessHash || got.RefreshHash != want.RefreshHash ||
					!equalTime(got.AccessExpiresAt, want.AccessExpiresAt) || !equalTime(got.RefreshExpiresAt, want.RefreshExpiresAt) ||
					got.IP != want.IP || got.UserAgent != want.UserAgent || !equalTime(got.CreatedAt, want.CreatedAt) ||
					!equalTime(got.LastUsedAt, want.LastUsedAt) {
					t.Fatalf("%s = %+v, want %+v", name, got, want)
				}
			}
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			s := e.Open(t)
			u := mustCreateUser(t, s, "ada@example.com")
			mustCreateSession(t, s, newSession(u.ID, baseTime))
			unknown := secret.HashToken("unknown")
			_, err := s.R().SessionByID(ctx, newID())
			wantCode(t, err, gatehouse.ENOTFOUND)
			_, err = s.R().SessionByAccessHash(ctx, unknown)
			wantCode(t, err, gatehouse.ENOTFOUND)
			_, err = s.R().SessionByRefreshHash(ctx, unknown)
			wantCode(t, err, gatehouse.ENOTFOUND)
		})

		t.Run("ErrUnknownUser", func(t *testing.T) {
			s := e.Open(t)
			err := s.Tx(ctx, func(tx *store.Conn) error { return tx.CreateSession(ctx, newSession(newID(), baseTime)) })
			if err == nil {
				t.Fatal("a session of an unknown user was created (foreign key not enforced)")
			}
		})
	})

	t.Run("AdvanceSession", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			s := e.Open(t)
			u := mustCreateUser(t, s, "ada@example.com")
			orig := newSession(u.ID, baseTime)
			orig.RefreshSeed = "seed-1"
			mustCreateSession(t, s, orig)
			oldAccess, oldRefresh := orig.AccessHash, orig.RefreshHash

			later := baseTime.Add(time.Hour)
			next := newSession(u.ID, later)
			next.ID, next.CreatedAt, next.IP, next.UserAgent = orig.ID, orig.CreatedAt, "198.51.100.1", "Chrome"
			next.RefreshSeed, next.RefreshGen = "seed-1", 1
			mustTx(t, s, func(tx *store.Conn) error { return tx.AdvanceSession(ctx, next, 0, oldRefresh, later) })

			got, err := s.R().SessionByRefreshHash(ctx, next.RefreshHash)
			if err != nil || got.ID != orig.ID || got.AccessHash != next.AccessHash || got.IP != "198.51.100.1" ||
				got.UserAgent != "Chrome" || !equalTime(got.LastUsedAt, later) || !equalTime(got.CreatedAt, baseTime) ||
				!equalTime(got.RefreshExpiresAt, next.RefreshExpiresAt) || got.RefreshGen != 1 || got.RefreshSeed != "seed-1" ||
				!equalTime(got.RotatedAt, later) {
				t.Fatalf("advanced session = %+v, %v", got, err)
			}
			if got, err := s.R().SessionByAccessHash(ctx, next.AccessHash); err != nil || got.ID != orig.ID {
				t.Fatalf("by new access hash = %v, %v", got, err)
			}
			_, err = s.R().SessionByRefreshHash(ctx, oldRefresh)
			wantCode(t, err, gatehouse.ENOTFOUND)
			_, err = s.R().SessionByAccessHash(ctx, oldAccess)
			wantCode(t, err, gatehouse.ENOTFOUND)
			// Nothing is recorded per rotation.
			if id, err := s.R().UsedRefreshSession(ctx, oldRefresh); err != nil || id != "" {
				t.Fatalf("UsedRefreshSession(old) = %q, %v; want nothing kept", id, err)
			}
		})

		t.Run("ErrStaleGeneration", func(t *testing.T) {
			s := e.Open(t)
			u := mustCreateUser(t, s, "ada@example.com")
			orig := newSession(u.ID, baseTime)
			mustCreateSession(t, s, orig)
			first := newSession(u.ID, baseTime)
			first.ID, first.RefreshGen = orig.ID, 1
			mustTx(t, s, func(tx *store.Conn) error { return tx.AdvanceSession(ctx, first, 0, orig.RefreshHash, baseTime) })

			// A concurrent rotation from the same (now stale) generation loses.
			second := newSession(u.ID, baseTime)
			second.ID, second.RefreshGen = orig.ID, 1
			err := s.Tx(ctx, func(tx *store.Conn) error { return tx.AdvanceSession(ctx, second, 0, orig.RefreshHash, baseTime) })
			wantCode(t, err, gatehouse.ENOTFOUND)
			// The right generation with a wrong hash loses too.
			err = s.Tx(ctx, func(tx *store.Conn) error { return tx.AdvanceSession(ctx, second, 1, orig.RefreshHash, baseTime) })
			wantCode(t, err, gatehouse.ENOTFOUND)
			got, err := s.R().SessionByID(ctx, orig.ID)
			if err != nil || got.RefreshHash != first.RefreshHash || got.AccessHash != first.AccessHash || got.RefreshGen != 1 {
				t.Fatalf("session after a stale rotation = %+v, %v; want the first rotation's tokens", got, err)
			}
			// Advancing an unknown session fails alike.
			err = s.Tx(ctx, func(tx *store.Conn) error {
				return tx.AdvanceSession(ctx, newSession(u.ID, baseTime), 0, secret.HashToken("x"), baseTime)
			})
			wantCode(t, err, gatehouse.ENOTFOUND)
		})
	})

	t.Run("TouchSession", func(t *testing.T) {
		s := e.Open(t)
		u := mustCreateUser(t, s, "ada@example.com")
		ss := newSession(u.ID, baseTime)
		mustCreateSession(t, s, ss)
		for _, tt := range []struct {
			name string
			at   time.Time
			want time.Time
		}{
			{"OK", baseTime.Add(time.Minute), baseTime.Add(time.Minute)},
			{"NeverBackwards", baseTime.Add(time.Second), baseTime.Add(time.Minute)},
		} {
			t.Run(tt.name, func(t *testing.T) {
				mustTx(t, s, func(tx *store.Conn) error { return tx.TouchSession(ctx, ss.ID, tt.at) })
				got, err := s.R().SessionByID(ctx, ss.ID)
				if err != nil || !equalTime(got.LastUsedAt, tt.want) {
					t.Fatalf("last_used_at = %v, %v; want %v", got.LastUsedAt, err, tt.want)
				}
			})
		}
	})

	t.Run("DeleteSession", func(t *testing.T) {
		s := e.Open(t)
		u := mustCreateUser(t, s, "ada@example.com")
		ss := newSession(u.ID, baseTime)
		mustCreateSession(t, s, ss)
		old := ss.RefreshHash
		rot := newSession(u.ID, baseTime)
		rot.ID, rot.RefreshGen = ss.ID, 1
		mustTx(t, s, func(tx *store.Conn) error { return tx.AdvanceSession(ctx, rot, 0, old, baseTime) })
		// A refresh token rotated away before generations existed.
		if _, err := s.WriterDB().ExecContext(ctx, `INSERT INTO used_refresh_tokens (hash, session_id, used_at) VALUES ($1, $2, $3)`, old, ss.ID, int64(1)); err != nil {
			t.Fatal(err)
		}

		for _, want := range []bool{true, false} {
			var existed bool
			mustTx(t, s, func(tx *store.Conn) (err error) {
				existed, err = tx.DeleteSession(ctx, ss.ID)
				return err
			})
			if existed != want {
				t.Fatalf("DeleteSession = %v, want %v", existed, want)
			}
		}
		_, err := s.R().SessionByAccessHash(ctx, rot.AccessHash)
		wantCode(t, err, gatehouse.ENOTFOUND)
		if id, err := s.R().UsedRefreshSession(ctx, old); err != nil || id != "" {
			t.Fatalf("UsedRefreshSession after delete = %q, %v; want forgotten", id, err)
		}
	})

	t.Run("DeleteUserSessions", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			keep int // index of the kept session, -1 for none
		}{
			{"KeepOne", 1},
			{"All", -1},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s := e.Open(t)
				u := mustCreateUser(t, s, "ada@example.com")
				other := mustCreateUser(t, s, "bob@example.com")
				var mine []*gatehouse.Session
				for i := range 3 {
					ss := newSession(u.ID, baseTime.Add(time.Duration(i)*time.Second))
					mustCreateSession(t, s, ss)
					mine = append(mine, ss)
				}
				theirs := newSession(other.ID, baseTime)
				mustCreateSession(t, s, theirs)

				keep := ""
				var wantEnded []string
				for i, ss := range mine {
					if i == tt.keep {
						keep = ss.ID
					} else {
						wantEnded = append(wantEnded, ss.ID)
					}
				}
				var ended []string
				mustTx(t, s, func(tx *store.Conn) (err error) {
					ended, err = tx.DeleteUserSessions(ctx, u.ID, keep)
					return err
				})
				slices.Sort(ended)
				slices.Sort(wantEnded)
				if !slices.Equal(ended, wantEnded) {
					t.Fatalf("ended %v, want %v", ended, wantEnded)
				}
				left, err := s.R().ListUserSessions(ctx, u.ID, gatehouse.PageRequest{})
				if err != nil {
					t.Fatal(err)
				}
				var wantLeft []string
				if keep != "" {
					wantLeft = []string{keep}
				}
				if !slices.Equal(sessionIDs(left), wantLeft) {
					t.Fatalf("left %v, want %v", sessionIDs(left), wantLeft)
				}
				if _, err := s.R().SessionByID(ctx, theirs.ID); err != nil {
					t.Fatalf("another user's session was ended: %v", err)
				}
			})
		}
	})

	t.Run("ListUserSessions", func(t *testing.T) {
		s := e.Open(t)
		u := mustCreateUser(t, s, "ada@example.com")
		other := mustCreateUser(t, s, "bob@example.com")
		mustCreateSession(t, s, newSession(other.ID, baseTime.Add(time.Hour)))
		// Five sessions, three created in one microsecond.
		for _, at := range []time.Time{baseTime, baseTime.Add(time.Second), baseTime.Add(time.Second), baseTime.Add(time.Second), baseTime.Add(2 * time.Second)} {
			mustCreateSession(t, s, newSession(u.ID, at))
		}
		full, err := s.R().ListUserSessions(ctx, u.ID, gatehouse.PageRequest{Limit: 100})
		if err != nil || len(full) != 5 {
			t.Fatalf("listed %d sessions, %v; want 5", len(full), err)
		}
		for i := 1; i < len(full); i++ {
			a, b := full[i-1], full[i]
			if a.UserID != u.ID || a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID) {
				t.Fatalf("not the user's sessions newest first: %v", sessionIDs(full))
			}
		}
		key := func(ss *gatehouse.Session) gatehouse.Cursor {
			return gatehouse.Cursor{CreatedAt: ss.CreatedAt, ID: ss.ID}
		}
		var got []string
		var sizes []int
		p := gatehouse.PageRequest{Limit: 2}
		for range 10 {
			rows, err := s.R().ListUserSessions(ctx, u.ID, p)
			if err != nil {
				t.Fatal(err)
			}
			page := gatehouse.MakePage(rows, p, key)
			got = append(got, sessionIDs(page.Items)...)
			sizes = append(sizes, len(page.Items))
			if page.NextCursor == "" {
				break
			}
			p.After = cursorOf(t, page.NextCursor)
		}
		if !slices.Equal(sizes, []int{2, 2, 1}) || !slices.Equal(got, sessionIDs(full)) {
			t.Fatalf("pages %v gave %v, want [2 2 1] giving %v", sizes, got, sessionIDs(full))
		}
	})
}
