package postgres_test

import (
	"os"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	storetest.MainNotice()
	os.Exit(code)
}
