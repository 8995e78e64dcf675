package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
	"github.com/gatehouse/gatehouse/internal/store"
)

// IdempotencyTTL is how long an Idempotency-Key's answer is kept.
const IdempotencyTTL = 24 * time.Hour

// MaxIdempotencyKey bounds the header's length.
const MaxIdempotencyKey = 255

// idempotentRoutes are the POSTs that create something: they honour
// Idempotency-Key.
var idempotentRoutes = map[string]bool{
	"POST /v1/members/invitations": true, "POST /v1/account/users/invitations": true,
	"POST /v1/members/invitations/bulk": true, "POST /v1/members/invite-links": true,
	"POST /v1/api-keys": true, "POST /v1/projects": true, "POST /v1/projects/{pid}/folders": true,
	"POST /v1/roles": true, "POST /v1/webhooks": true, "POST /v1/organizations": true,
}

// idempotent runs h once per (caller, Idempotency-Key): the same key with
// the same request answers the stored status and body again (with
// Idempotent-Replayed: true) without running h; with another request, 422
// idempotency_key_reused; while the first still runs, 409
// idempotency_in_flight. A 5xx answer is not kept, so a retry runs again.
// It reports false when the request carries no key or the route takes none.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal, h func(w http.ResponseWriter, r *http.Request)) bool {
	key := header(r, "Idempotency-Key")
	if key == "" || !idempotentRoutes[r.Pattern] {
		return false
	}
	if len(key) > MaxIdempotencyKey {
		respond.Error(w, r, gatehouse.Invalid("The request has invalid fields.", gatehouse.FieldError{Field: "Idempotency-Key", Message: "must be at most 255 characters"}))
		return true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, respond.MaxBodyBytes))
	if err != nil {
		respond.Error(w, r, gatehouse.Errorf(gatehouse.ETOOLARGE, "The body is larger than 1 MiB."))
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	kh := sha256.Sum256([]byte(p.Kind + "\x00" + p.ID() + "\x00" + key))
	keyHash := hex.EncodeToString(kh[:])
	rh := sha256.New()
	for _, part := range []string{r.Method, r.URL.Path, r.Header.Get(OrgHeader), r.Header.Get("Content-Type")} {
		rh.Write([]byte(part))
		rh.Write([]byte{0})
	}
	rh.Write(body)
	reqHash := hex.EncodeToString(rh.Sum(nil))

	st := s.Store
	var prior *store.IdempotencyRecord
	err = st.Tx(r.Context(), func(tx *store.Conn) error {
		var err error
		prior, err = tx.ClaimIdempotencyKey(r.Context(), keyHash, reqHash, store.Now(), IdempotencyTTL)
		return err
	})
	switch {
	case err != nil:
		respond.Error(w, r, err)
		return true
	case prior != nil && prior.RequestHash != reqHash:
		respond.Error(w, r, &gatehouse.Error{Code: gatehouse.EUNPROCESSABLE, Reason: "idempotency_key_reused",
			Message: "This Idempotency-Key was used with a different request."})
		return true
	case prior != nil && prior.Status == 0:
		respond.Error(w, r, &gatehouse.Error{Code: gatehouse.ECONFLICT, Reason: "idempotency_in_flight",
			Message: "A request with this Idempotency-Key is still running; retry later."})
		return true
	case prior != nil:
		if prior.ContentType != "" {
			w.Header().Set("Content-Type", prior.ContentType)
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(prior.Status)
		_, _ = w.Write(prior.Body)
		return true
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	finished := false
	defer func() {
		if !finished { // a panic: forget the claim
			_ = st.Tx(r.Context(), func(tx *store.Conn) error { return tx.ReleaseIdempotencyKey(r.Context(), keyHash) })
		}
	}()
	h(rec, r)
	finished = true
	ctx := r.Context()
	_ = st.Tx(ctx, func(tx *store.Conn) error {
		if rec.status >= 500 {
			return tx.ReleaseIdempotencyKey(ctx, keyHash)
		}
		return tx.FinishIdempotencyKey(ctx, keyHash, rec.status, rec.Header().Get("Content-Type"), rec.body.Bytes())
	})
	return true
}

// recorder writes through and keeps a copy of the answer.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
