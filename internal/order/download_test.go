package order

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"mime"
	"testing"
)

// TestDisposition: whatever a common name holds, the Content-Disposition
// of its download parses to one file name, the name's own where it is
// safe, with its extension.
func TestDisposition(t *testing.T) {
	for _, tc := range []struct {
		cn, header, name string
	}{
		{"www.example.com", `attachment; filename="www_example_com.pem"`, "www_example_com.pem"},
		{"*.example.com", `attachment; filename="star_example_com.pem"`, "star_example_com.pem"},
		{"Acme Code Works Ltd", `attachment; filename="Acme Code Works Ltd.pem"`, "Acme Code Works Ltd.pem"},
		{`Evil"; filename*=UTF-8''run%2Ebat; x="\`, `attachment; filename="Evil_; filenamestar=UTF-8''run%2Ebat; x=__.pem"`,
			"Evil_; filenamestar=UTF-8''run%2Ebat; x=__.pem"},
		{"a\r\nb:c<d>e|f?g", `attachment; filename="a__b_c_d_e_f_g.pem"`, "a__b_c_d_e_f_g.pem"},
		{"Zoë Müller", `attachment; filename="Zo_ M_ller.pem"; filename*=UTF-8''Zo%C3%AB%20M%C3%BCller.pem`, "Zoë Müller.pem"},
	} {
		d := &Download{FileName: fileBase(&x509.Certificate{Subject: pkix.Name{CommonName: tc.cn}}) + ".pem"}
		if got := d.Disposition(); got != tc.header {
			t.Errorf("%q: Content-Disposition %s, want %s", tc.cn, got, tc.header)
		}
		_, params, err := mime.ParseMediaType(d.Disposition())
		if err != nil || params["filename"] != tc.name || len(params) != 1 {
			t.Errorf("%q: parses to %v, %v; want the one file name %q", tc.cn, params, err, tc.name)
		}
	}
}
