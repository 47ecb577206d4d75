package lintinputs

import (
	"go/ast"
	"go/parser"
	"go/token"
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
		{"e_key_usage_and_extended_key_usage_inconsistent", false, "ranges over a map"}, // its outcome follows map order
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

// TestOIDLiteral: literals are read with Go's syntax, so an octal arc is
// not taken for a decimal one.
func TestOIDLiteral(t *testing.T) {
	for _, tc := range []struct {
		src, want string
		ok        bool
	}{
		{"asn1.ObjectIdentifier{2, 5, 29, 17}", "2.5.29.17", true},
		{"asn1.ObjectIdentifier{2, 5, 29, 021}", "2.5.29.17", true},
		{"asn1.ObjectIdentifier{2, 5, 29, 0x11}", "2.5.29.17", true},
		{"asn1.ObjectIdentifier{2, 5, 29, n}", "", false},
		{"[]int{2, 5, 29, 17}", "", false},
	} {
		e, err := parser.ParseExpr(tc.src)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := oidLiteral(e); got != tc.want || ok != tc.ok {
			t.Errorf("%s: %q %v, want %q %v", tc.src, got, ok, tc.want, tc.ok)
		}
	}
}

// TestMayWrite: a read of c.F that could write to the certificate, the
// field or what it holds is told from one that cannot.
func TestMayWrite(t *testing.T) {
	for _, tc := range []struct {
		stmt  string
		write bool
	}{
		{"x := c.F", false},
		{"if len(c.F) > 0 {}", false},
		{"for _, v := range c.F { _ = v }", false},
		{"f(c.F)", false},
		{"x = c.F[0]", false},
		{"c.F = nil", true},
		{"c.F[0] = 1", true},
		{"c.F.X = 1", true},
		{"c.F++", true},
		{"p := &c.F", true},
		{"p := &c.F[0]", true},
		{"c.F = append(c.F, 1)", true},
		{"x = append(c.F, 1)", true},
		{"copy(c.F, x)", true},
		{"sort.Strings(c.F)", true},
		{"slices.Sort(c.F[1:])", true},
	} {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", "package p\nfunc g() {\n"+tc.stmt+"\n}\n", 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.stmt, err)
		}
		body := f.Decls[0].(*ast.FuncDecl).Body
		parents := parentMap(body)
		var sel *ast.SelectorExpr
		ast.Inspect(body, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok && sel == nil && isCF(s) {
				sel = s
			}
			return true
		})
		if sel == nil {
			t.Fatalf("%s: no c.F", tc.stmt)
		}
		if got := mayWrite(sel, parents); got != tc.write {
			t.Errorf("%s: mayWrite %v, want %v", tc.stmt, got, tc.write)
		}
	}
}

// isCF: s is c.F.
func isCF(s *ast.SelectorExpr) bool {
	id, ok := s.X.(*ast.Ident)
	return ok && id.Name == "c" && s.Sel.Name == "F"
}
