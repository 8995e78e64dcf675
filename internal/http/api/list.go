package api

import (
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/http/respond"
)

// listResponse is every list's body.
type listResponse[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// pageRequest reads ?limit= (1–100, default 25) and ?cursor=.
func pageRequest(r *http.Request) (gatehouse.PageRequest, error) {
	p := gatehouse.PageRequest{Limit: gatehouse.DefaultPageLimit}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" || q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > gatehouse.MaxPageLimit {
			return p, gatehouse.Invalid("Invalid limit.", gatehouse.FieldError{Field: "limit", Message: "must be a whole number from 1 to 100"})
		}
		p.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		c, err := gatehouse.DecodeCursor(v)
		if err != nil {
			return p, err
		}
		p.After = c
	}
	return p, nil
}

// listOf converts a page of domain items to the list body.
func listOf[T, U any](page gatehouse.Page[T], conv func(T) U) listResponse[U] {
	out := listResponse[U]{Data: make([]U, 0, len(page.Items))}
	for _, it := range page.Items {
		out.Data = append(out.Data, conv(it))
	}
	if page.NextCursor != "" {
		c := page.NextCursor
		out.NextCursor = &c
	}
	return out
}

// serveList answers a list request: it reads limit and cursor, fetches one
// page and writes it as {data, next_cursor}.
func serveList[T, U any](w http.ResponseWriter, r *http.Request, fetch func(gatehouse.PageRequest) (gatehouse.Page[T], error), conv func(T) U) {
	page, err := pageRequest(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	res, err := fetch(page)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, listOf(res, conv))
}
