package storetest

import (
	"bytes"
	"strings"
	"testing"
)

func TestNoticeSkipped(t *testing.T) {
	var b bytes.Buffer
	if !NoticeSkipped(&b, func(string) string { return "" }) || !strings.Contains(b.String(), PostgresEnv+"=") || strings.Count(b.String(), "\n") != 1 {
		t.Fatalf("no one-line notice naming how to run them: %q", b.String())
	}
	b.Reset()
	if NoticeSkipped(&b, func(string) string { return "postgres://x" }) || b.Len() != 0 {
		t.Fatalf("notice printed although PostgreSQL is configured: %q", b.String())
	}
}
