package postgres_test

import (
	"context"
	"testing"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/postgres"
	"github.com/certorder/certorder/internal/store/storetest"
	"github.com/certorder/certorder/internal/testenv"
)

func TestConformance(t *testing.T) {
	testenv.PostgresServer(t)
	storetest.Run(t, storetest.Backend{Fresh: func(t *testing.T) func() (store.Store, error) {
		db := testenv.PostgresDatabase(t)
		return func() (store.Store, error) { return postgres.Open(context.Background(), db) }
	}})
}
