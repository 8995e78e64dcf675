package store

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// keyset appends the newest-first keyset condition and order for a page.
// It fetches one row more than the limit so the caller knows whether a next
// page exists. Tables using it have created_at and id columns.
func keyset(q string, args []any, p gatehouse.PageRequest) (string, []any) {
	return keysetOn(q, args, p, "created_at", "id")
}

// keysetOn is keyset with other column names (for joins).
func keysetOn(q string, args []any, p gatehouse.PageRequest, createdCol, idCol string) (string, []any) {
	if p.After != nil {
		args = append(args, p.After.CreatedAt.UnixMicro(), p.After.ID)
		n := len(args)
		// A row-value comparison, which both engines turn into an index
		// range; the equivalent OR form makes PostgreSQL filter every row
		// before the cursor, so deep pages got slower and slower.
		q += fmt.Sprintf(" AND (%s, %s) < ($%d, $%d)", createdCol, idCol, n-1, n)
	}
	args = append(args, p.FetchLimit())
	q += fmt.Sprintf(" ORDER BY %s DESC, %s DESC LIMIT $%d", createdCol, idCol, len(args))
	return q, args
}

// escapeLike escapes LIKE wildcards so user input matches literally.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func lower(s string) string { return strings.ToLower(s) }

func itoa(i int) string { return strconv.Itoa(i) }
