package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// TestLintCertificateIsZlints: certorder's loop over a registry finds
// what zlint.LintCertificateEx finds, errors and warnings alike, on clean
// certificates of every purpose and on ones made to fail.
func TestLintCertificateIsZlints(t *testing.T) {
	h := rsaHierarchy(t)
	regs, err := lintRegistries()
	if err != nil {
		t.Fatal(err)
	}
	var ders [][]byte
	for _, p := range []Profile{ProfileCodeSigning, ProfileSMIMEMailbox, ProfileSMIMESponsor, ProfileClientAuth, ProfileX9TLS, ProfilePrivateTLS} {
		req := profileRequest(t, h, p, map[bool]string{true: "rsa3072", false: "p256"}[PurposeOf(p) == PurposeCodeSigning], false)
		d, err := h.Draft(req)
		if err != nil {
			t.Fatal(err)
		}
		ders = append(ders, d.lint)
	}
	// Failing ones: a validity beyond every limit, a name with an
	// underscore, no key usage.
	req := leafRequest(t, h, ProfileOVTLS, testKey(t, "p256"), "")
	tmpl, err := h.leafTemplate(req)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.NotAfter = tmpl.NotBefore.Add(500 * 24 * time.Hour)
	tmpl.DNSNames = append(tmpl.DNSNames, "bad_name.example.com")
	tmpl.KeyUsage = 0
	d, err := h.DefaultIssuer().draft(rand.Reader, tmpl, req.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ders = append(ders, d.lint)
	// And two configurable lints failing: an HTML entity in the subject
	// and a key whose private scalar is 5.
	tmpl.RawSubject = mustSubject(t, "www.example.com &amp; co")
	x, y := elliptic.P256().ScalarBaseMult([]byte{5})
	weak := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	if d, err = h.DefaultIssuer().draft(rand.Reader, tmpl, weak); err != nil {
		t.Fatal(err)
	}
	ders = append(ders, d.lint)
	for i, der := range ders {
		c, err := zx509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		for _, reg := range append([]lint.Registry{regs.certs, regs.private}, slices.Collect(maps.Values(regs.leaves))...) {
			gotErrs, gotWarns := lintCertificate(c, reg)
			wantErrs, wantWarns := splitResults(zlint.LintCertificateEx(c, reg))
			if !reflect.DeepEqual(gotErrs, wantErrs) || !reflect.DeepEqual(gotWarns, wantWarns) {
				t.Errorf("certificate %d: certorder's loop found %v %v, zlint %v %v", i, gotErrs, gotWarns, wantErrs, wantWarns)
			}
		}
		if i == len(ders)-1 {
			errs, _ := lintCertificate(c, regs.certs)
			all := strings.Join(errs, "\n")
			for _, want := range []string{"e_subj_contains_html_entities:", "e_ecdsa_small_private_key:"} {
				if !strings.Contains(all, want) {
					t.Errorf("the failing certificate does not fail %s: %v", want, errs)
				}
			}
		}
	}
}
