package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/certorder/certorder/internal/store"
)

// A setting is put once, and replaced only from the value the replacer
// read: of several processes replacing it at once, one wins.
func testSettings(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	get := func() string {
		t.Helper()
		v, err := s.Setting(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	replace := func(old, value string) bool {
		t.Helper()
		var ok bool
		if err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			ok, err = tx.ReplaceSetting(ctx, "k", old, value)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if _, err := s.Setting(ctx, "k"); err == nil {
		t.Fatal("an unset setting was found")
	}
	if replace("", "x") {
		t.Fatal("ReplaceSetting set a setting that was never put")
	}
	for _, v := range []string{"first", "second"} {
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.PutSettingIfAbsent(ctx, "k", v) }); err != nil {
			t.Fatal(err)
		}
	}
	if got := get(); got != "first" {
		t.Fatalf("setting %q after two puts, want the first", got)
	}
	if replace("other", "x") || get() != "first" {
		t.Fatal("ReplaceSetting replaced a value it did not name")
	}
	if !replace("first", "third") || get() != "third" {
		t.Fatal("ReplaceSetting did not replace the value it named")
	}
	won := make([]bool, 6)
	var wg sync.WaitGroup
	for i := range won {
		wg.Go(func() {
			err := s.InTx(ctx, func(tx store.Tx) error {
				var err error
				// Assigned, not counted: a transaction may run twice.
				won[i], err = tx.ReplaceSetting(ctx, "k", "third", fmt.Sprint("racer", i))
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	wins := 0
	for i, w := range won {
		if w {
			wins++
			if got := get(); got != fmt.Sprint("racer", i) {
				t.Errorf("racer %d won, the setting is %q", i, got)
			}
		}
	}
	if wins != 1 {
		t.Fatalf("%d racers replaced the setting, want 1", wins)
	}
}
