package storetest

import (
	"fmt"
	"io"
	"os"
)

// SkipNotice is the line saying that the PostgreSQL tests did not run.
const SkipNotice = "PostgreSQL tests SKIPPED: " + PostgresEnv + " is not set; to run them: " +
	PostgresEnv + "='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test ./..."

// NoticeSkipped writes SkipNotice to w when the PostgreSQL URL is unset,
// and reports whether it did.
func NoticeSkipped(w io.Writer, getenv func(string) string) bool {
	if getenv(PostgresEnv) != "" {
		return false
	}
	fmt.Fprintln(w, SkipNotice)
	return true
}

// MainNotice is for a PostgreSQL package's TestMain: `go test ./...` hides
// the output of passing packages, so besides stderr (shown with -v) the
// notice goes to the terminal running the tests, when there is one.
func MainNotice() {
	NoticeSkipped(os.Stderr, os.Getenv)
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		NoticeSkipped(tty, os.Getenv)
		tty.Close()
	}
}
