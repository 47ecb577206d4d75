package console_test

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/testenv"
)

// TestDownloadFileNameCannotAddParameters: a download is named after its
// certificate's common name, which for code signing is the organization's
// name, typed by whoever adds the organization. Quotes, backslashes and
// parameters in it stay part of one file name, in the console and the
// API: a name cannot end the quoted file name and add a filename*
// (which browsers prefer) of an executable's extension.
func TestDownloadFileNameCannotAddParameters(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	const org = `Evil"; filename*=UTF-8''run%2Ebat; x="\`
	var in order.CreateInput
	body := map[string]any{
		"certificate":    map[string]any{"server_platform": map[string]any{"id": 52}, "signature_hash": "sha256", "csr": testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")},
		"order_validity": map[string]any{"years": 1},
		"organization":   map[string]any{"name": org, "address": "1 Main Street", "city": "Springfield", "state": "Oregon", "zip": "97477", "country": "us"},
		"payment_method": "balance",
		"skip_approval":  true,
	}
	raw, _ := json.Marshal(body)
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	res, err := f.srv.App.Orders.CreateOrder(context.Background(), f.admin, "code_signing", &in)
	if err != nil {
		t.Fatalf("code signing order: %v", err)
	}
	o := f.waitStatus(res.OrderID, "issued")
	b := f.signIn("admin")
	for _, format := range order.Formats {
		for _, via := range []string{"console", "api"} {
			var cd string
			if via == "console" {
				p := b.Get(f.url("/console/orders/" + itoa(o.ID) + "/certificates/" + itoa(o.CertificateID) + "/" + format))
				requireStatus(t, p, http.StatusOK, format)
				cd = p.Header.Get("Content-Disposition")
			} else {
				status, h, _ := f.srv.Do("GET", "/services/v2/certificate/"+itoa(o.CertificateID)+"/download/format/"+format, "")
				if status != http.StatusOK {
					t.Fatalf("API %s: %d", format, status)
				}
				cd = h.Get("Content-Disposition")
			}
			disp, params, err := mime.ParseMediaType(cd)
			if err != nil || disp != "attachment" {
				t.Errorf("%s %s: Content-Disposition %q does not parse: %v", via, format, cd, err)
				continue
			}
			name := params["filename"]
			if !strings.HasPrefix(name, "Evil") || strings.ContainsAny(name, `"\`) || strings.Contains(name, ".bat") || len(params) != 1 {
				t.Errorf("%s %s: Content-Disposition %q names the file %q (parameters %v)", via, format, cd, name, params)
			}
		}
	}
}
