package lintinputs

import (
	"strings"
	"testing"
)

// TestVerdicts: the analysis of zlint's source judges lints whose reading
// is known, each for the rule it exercises.
func TestVerdicts(t *testing.T) {
	v, err := Analyze()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lint   string
		fixed  bool
		reason string // a part of the reason a variable lint is given
	}{
		{"w_issuer_dn_leading_whitespace", true, ""},                // c.RawIssuer, handed to util
		{"e_sub_cert_aia_does_not_contain_ocsp_url", true, ""},      // c.OCSPServer
		{"e_sub_cert_key_usage_cert_sign_bit_set", true, ""},        // c.KeyUsage
		{"w_ext_subject_key_identifier_missing_sub_cert", true, ""}, // IsExtInCert of a variable extension: presence only
		{"e_qcstatem_psd2_roles_present", true, ""},                 // a local closure, calls through zlint's own interfaces
		{"e_subj_contains_html_entities", false, "c.Subject"},
		{"e_ext_duplicate_extension", false, "c.Extensions"},
		{"e_tls_server_cert_valid_time_longer_than_398_days", false, "c.Not"},
		{"e_ext_san_missing", true, ""}, // whether the SAN is there, not what it says
		{"w_sub_cert_aia_contains_internal_names", false, "time.Now"},
		{"e_rsa_mod_less_than_2048_bits", false, "c.PublicKey"},
		{"e_sub_cert_not_is_ca", true, ""},
	} {
		got, ok := v[tc.lint]
		if !ok {
			t.Errorf("%s: no verdict", tc.lint)
			continue
		}
		if got.Fixed != tc.fixed || !strings.Contains(got.Reason, tc.reason) {
			t.Errorf("%s: fixed %v (%q), want %v (%q)", tc.lint, got.Fixed, got.Reason, tc.fixed, tc.reason)
		}
	}
}
