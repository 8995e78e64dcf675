package api_test

import (
	"bytes"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/apptest"
	"github.com/gatehouse/gatehouse/internal/service"
	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

// Image headers, padded: the server judges the type from these bytes.
var (
	mePNG  = mePad("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00", 64)
	meJPEG = mePad("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 64)
	meWebP = mePad("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", 64)
	meGIF  = mePad("GIF89a\x01\x00\x01\x00\x80\x00\x00", 64)
)

func mePad(head string, n int) []byte {
	b := make([]byte, n)
	copy(b, head)
	return b
}

func meAvatar(srv *apptest.Server, token string, body []byte, contentType string) *apptest.Response {
	return srv.Do(apptest.Req{Method: "PUT", Path: "/v1/me/avatar", Token: token, Body: body, ContentType: contentType})
}

// meFetch follows an avatar_url on the test server.
func meFetch(t *testing.T, srv *apptest.Server, url any) *apptest.Response {
	t.Helper()
	s, ok := url.(string)
	if !ok || !strings.HasPrefix(s, srv.Config.BaseURL+"/v1/users/") {
		t.Fatalf("avatar_url %v, want a URL under %s/v1/users/", url, srv.Config.BaseURL)
	}
	return srv.Do(apptest.Req{Method: "GET", Path: strings.TrimPrefix(s, srv.Config.BaseURL)})
}

// meSquare decodes a stored avatar and checks it is a side×side PNG whose
// centre is the test image's: red on the left, blue on the right.
func meSquare(t *testing.T, body []byte, side int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("stored avatar is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != side || b.Dy() != side {
		t.Fatalf("stored avatar is %dx%d, want %dx%d", b.Dx(), b.Dy(), side, side)
	}
	l := color.NRGBAModel.Convert(img.At(side/4, side-1)).(color.NRGBA)
	r := color.NRGBAModel.Convert(img.At(side-1-side/4, side-1)).(color.NRGBA)
	if l.R < 150 || l.B > 80 || r.B < 150 || r.R > 80 {
		t.Fatalf("crop is not centred: left %v, right %v", l, r)
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "Ada@Example.com", "")
			me := srv.Must(200, apptest.GetAs("/v1/me", a.Access))
			if me["id"] != a.User["id"] || me["email"] != "Ada@Example.com" || me["name"] != "Ada" ||
				me["email_verified"] != true || me["has_password"] != true || me["avatar_url"] != nil || me["current_organization_id"] != nil {
				t.Fatalf("me: %v", me)
			}
			for _, k := range []string{"created_at", "updated_at"} {
				if _, err := time.Parse(time.RFC3339Nano, me[k].(string)); err != nil {
					t.Fatalf("%s: %v", k, err)
				}
			}
			if strings.Contains(string(srv.Do(apptest.GetAs("/v1/me", a.Access)).Body), "argon2") {
				t.Fatal("/v1/me shows the password hash")
			}
		})
		t.Run("OKUpdateName", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Clock.Advance(time.Minute)
			out := srv.Must(200, apptest.Req{Method: "PATCH", Path: "/v1/me", Token: a.Access, Body: map[string]any{"name": "  Ada Lovelace  "}})
			if out["name"] != "Ada Lovelace" || out["updated_at"] == out["created_at"] {
				t.Fatalf("patched: %v", out)
			}
			if me := srv.Must(200, apptest.GetAs("/v1/me", a.Access)); me["name"] != "Ada Lovelace" || me["updated_at"] != out["updated_at"] {
				t.Fatalf("me: %v, want it as patched: %v", me, out)
			}
			long := strings.Repeat("é", 100)
			if out := srv.Must(200, apptest.Req{Method: "PATCH", Path: "/v1/me", Token: a.Access, Body: map[string]any{"name": long}}); out["name"] != long {
				t.Fatalf("100-character name: %v", out["name"])
			}
		})
		t.Run("OKUpdateNothing", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for _, body := range []any{nil, "{}", `{"name":null}`} {
				r := apptest.Req{Method: "PATCH", Path: "/v1/me", Token: a.Access, Body: body}
				if body != nil {
					r.ContentType = "application/json"
				}
				if out := srv.Must(200, r); out["name"] != "Ada" {
					t.Fatalf("%v: %v", body, out)
				}
			}
		})
		t.Run("ErrBadInput", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			huge := `{"name":"` + strings.Repeat("a", 1<<20) + `"}`
			for _, tc := range []auBadCase{
				{"empty name", map[string]any{"name": ""}, "", 400},
				{"blank name", map[string]any{"name": "   "}, "", 400},
				{"101 characters", map[string]any{"name": strings.Repeat("n", 101)}, "", 400},
				{"two lines", map[string]any{"name": "Ada\nLovelace"}, "", 400},
				{"carriage return", map[string]any{"name": "Ada\rLovelace"}, "", 400},
				{"nul", map[string]any{"name": "Ada\x00"}, "", 400},
				{"number", map[string]any{"name": 5}, "", 400},
				{"bool", map[string]any{"name": true}, "", 400},
				{"object", map[string]any{"name": map[string]any{}}, "", 400},
				{"array", map[string]any{"name": []string{"Ada"}}, "", 400},
				{"unknown field", map[string]any{"email": "eve@example.com"}, "", 400},
				{"body array", "[]", "application/json", 400},
				{"malformed", `{"name":`, "application/json", 400},
				{"trailing data", `{} {}`, "application/json", 400},
				{"wrong content type", `{"name":"Eve"}`, "text/plain", 415},
				{"oversized", huge, "application/json", 413},
			} {
				t.Run(tc.name, func(t *testing.T) {
					resp := srv.Do(apptest.Req{Method: "PATCH", Path: "/v1/me", Token: a.Access, Body: tc.body, ContentType: tc.contentType})
					apptest.Problem(t, resp, tc.want)
				})
			}
			if me := srv.Must(200, apptest.GetAs("/v1/me", a.Access)); me["name"] != "Ada" || me["email"] != "ada@example.com" {
				t.Fatalf("me changed: %v", me)
			}
		})
		t.Run("ErrUnauthenticated", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			srv.Clock.Advance(service.AccessTokenTTL)
			for _, r := range []apptest.Req{
				{Method: "GET", Path: "/v1/me"},
				{Method: "PATCH", Path: "/v1/me", Body: map[string]any{"name": "Eve"}},
				{Method: "PUT", Path: "/v1/me/avatar", Body: mePNG},
				{Method: "GET", Path: "/v1/me", Token: a.Access},
				{Method: "GET", Path: "/v1/me", Token: a.Refresh},
			} {
				apptest.Problem(t, srv.Do(r), 401)
			}
		})
	})
}

func TestMeAvatar(t *testing.T) {
	t.Parallel()
	apptest.EachEngine(t, func(t *testing.T, e storetest.Engine) {
		t.Run("OK", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			var lastURL any
			for _, tc := range []struct {
				name, header, want string
				body               []byte
				side               int // of the stored square; 0 keeps the bytes as sent
			}{
				// The Content-Type header is ignored: the bytes decide.
				{"png", "image/png", "image/png", apptest.PNG(300, 200), 200},
				{"png sent as gif", "image/gif", "image/png", apptest.PNG(40, 90), 40},
				{"large png scaled down", "image/png", "image/png", apptest.PNG(1000, 700), service.AvatarSize},
				{"jpeg sent as octet-stream", "application/octet-stream", "image/png", apptest.JPEG(120, 80), 80},
				{"webp sent without type", "", "image/webp", meWebP, 0},
				{"webp sent as text", "text/plain", "image/webp", meWebP, 0},
			} {
				t.Run(tc.name, func(t *testing.T) {
					out := srv.Must(200, apptest.Req{Method: "PUT", Path: "/v1/me/avatar", Token: a.Access, Body: tc.body, ContentType: tc.header})
					if out["avatar_url"] == lastURL {
						t.Fatalf("avatar_url %v did not change with a new image", out["avatar_url"])
					}
					lastURL = out["avatar_url"]
					if me := srv.Must(200, apptest.GetAs("/v1/me", a.Access)); me["avatar_url"] != lastURL {
						t.Fatalf("me avatar_url %v, want %v", me["avatar_url"], lastURL)
					}
					// Served back to anyone, with the stored type.
					got := meFetch(t, srv, lastURL)
					if got.Status != 200 || got.Header.Get("Content-Type") != tc.want {
						t.Fatalf("served %d %q, want %s", got.Status, got.Header.Get("Content-Type"), tc.want)
					}
					if got.Header.Get("X-Content-Type-Options") != "nosniff" {
						t.Fatal("avatar served without X-Content-Type-Options: nosniff")
					}
					if tc.side == 0 {
						if !bytes.Equal(got.Body, tc.body) {
							t.Fatalf("served %d bytes, want the %d sent", len(got.Body), len(tc.body))
						}
						return
					}
					meSquare(t, got.Body, tc.side)
				})
			}
		})
		t.Run("OKDelete", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			// Removing none is fine.
			if out := srv.Must(200, apptest.Req{Method: "DELETE", Path: "/v1/me/avatar", Token: a.Access}); out["avatar_url"] != nil {
				t.Fatalf("no avatar: %v", out)
			}
			set := srv.Must(200, apptest.Req{Method: "PUT", Path: "/v1/me/avatar", Token: a.Access, Body: apptest.PNG(10, 10), ContentType: "image/png"})
			out := srv.Must(200, apptest.Req{Method: "DELETE", Path: "/v1/me/avatar", Token: a.Access})
			if out["avatar_url"] != nil {
				t.Fatalf("after delete: %v", out)
			}
			if got := meFetch(t, srv, set["avatar_url"]); got.Status != 404 {
				t.Fatalf("the removed avatar is still served: %d", got.Status)
			}
			if n := len(srv.AuditEvents("", "user.avatar_removed")); n != 1 {
				t.Fatalf("%d user.avatar_removed events, want 1 (none for removing nothing)", n)
			}
			apptest.Problem(t, srv.Do(apptest.Req{Method: "DELETE", Path: "/v1/me/avatar"}), 401)
		})
		t.Run("OKMaxSize", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			// A real PNG padded after its end to exactly the limit.
			body := mePad(string(apptest.PNG(30, 20)), service.MaxAvatarBytes)
			out := srv.Must(200, apptest.Req{Method: "PUT", Path: "/v1/me/avatar", Token: a.Access, Body: body, ContentType: "image/png"})
			meSquare(t, meFetch(t, srv, out["avatar_url"]).Body, 20)
		})
		t.Run("ErrTooManyPixels", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			p := apptest.Problem(t, meAvatar(srv, a.Access, apptest.PNG(service.MaxAvatarPixels+1, 1), "image/png"), 413)
			if !strings.Contains(p["detail"].(string), "pixels") {
				t.Fatalf("detail %q does not say why", p["detail"])
			}
		})
		t.Run("ErrTooLarge", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			body := mePad(string(mePNG), service.MaxAvatarBytes+1)
			apptest.Problem(t, meAvatar(srv, a.Access, body, "image/png"), 413)
			// Without a Content-Length the limit holds all the same.
			r, err := http.NewRequest("PUT", srv.URL+"/v1/me/avatar", io.MultiReader(bytes.NewReader(body)))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Authorization", "Bearer "+a.Access)
			r.Header.Set("Content-Type", "image/png")
			resp, err := srv.HTTP.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			apptest.Problem(t, &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, 413)
			if me := srv.Must(200, apptest.GetAs("/v1/me", a.Access)); me["avatar_url"] != nil {
				t.Fatalf("a refused avatar was stored: %v", me)
			}
		})
		t.Run("ErrNotAnImage", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for _, tc := range []struct {
				name   string
				body   []byte
				header string
			}{
				{"gif", meGIF, "image/gif"},
				{"png header only", mePNG, "image/png"},
				{"jpeg header only", meJPEG, "image/jpeg"},
				{"truncated png", apptest.PNG(50, 50)[:60], "image/png"},
				{"gif claiming png", meGIF, "image/png"},
				{"text claiming png", []byte("hello, world"), "image/png"},
				{"html claiming jpeg", []byte("<html><script>alert(1)</script></html>"), "image/jpeg"},
				{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "image/svg+xml"},
				{"json", []byte(`{"name":"x"}`), "application/json"},
				{"riff but not webp", mePad("RIFF\x24\x00\x00\x00WAVEfmt ", 64), "image/webp"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					apptest.Problem(t, meAvatar(srv, a.Access, tc.body, tc.header), 415)
				})
			}
			if me := srv.Must(200, apptest.GetAs("/v1/me", a.Access)); me["avatar_url"] != nil {
				t.Fatalf("a refused avatar was stored: %v", me)
			}
		})
		t.Run("ErrEmpty", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			apptest.Problem(t, meAvatar(srv, a.Access, nil, ""), 400)
			apptest.Problem(t, meAvatar(srv, a.Access, []byte{}, "image/png"), 400)
		})
		t.Run("ErrNoAvatar", func(t *testing.T) {
			srv := apptest.New(t, e)
			a := srv.SignUpTokens("Ada", "ada@example.com", "")
			for _, id := range []string{a.User["id"].(string), "0190c0de-0000-7000-8000-000000000000", "nope", "%00", "%FF"} {
				apptest.Problem(t, srv.Do(apptest.Req{Method: "GET", Path: "/v1/users/" + id + "/avatar"}), 404)
			}
		})
	})
}
