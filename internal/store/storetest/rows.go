package storetest

import "database/sql"

// ScanAny scans the current row of rows into one value per column, as the
// driver gives them (tests that read whole tables or query plans).
func ScanAny(rows *sql.Rows) ([]any, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return vals, rows.Scan(ptrs...)
}
