package store

import (
	"fmt"

	"github.com/gatehouse/gatehouse"
)

// keyset appends the newest-first keyset condition and order for a page.
// It fetches one row more than the limit so the caller knows whether a next
// page exists. Tables using it have created_at and id columns.
func keyset(q string, args []any, p gatehouse.PageRequest) (string, []any) {
	if p.After != nil {
		args = append(args, p.After.CreatedAt.UnixMicro(), p.After.ID)
		n := len(args)
		q += fmt.Sprintf(" AND (created_at < $%d OR (created_at = $%d AND id < $%d))", n-1, n-1, n)
	}
	args = append(args, p.FetchLimit())
	q += fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT $%d", len(args))
	return q, args
}
