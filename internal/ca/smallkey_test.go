package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"maps"
	"math/big"
	mrand "math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/certorder/certorder/internal/ca/smallkey"
)

// smallKeyLintName is the name zlint registers its small-private-key lint under.
const smallKeyLintName = "e_ecdsa_small_private_key"

// BenchmarkSmallKeyLint: e_ecdsa_small_private_key over an OV TLS leaf
// with a random P-256 or P-384 key, as zlint runs it (zlint) and as
// certorder's loop does (certorder), and the whole pre-issuance lint of
// that leaf (leaf). Run: go test ./internal/ca -run '^$' -bench SmallKeyLint
func BenchmarkSmallKeyLint(b *testing.B) {
	regs, err := lintRegistries()
	if err != nil {
		b.Fatal(err)
	}
	reg := regs.leaves[PurposeTLS]
	set := lintSetOf(reg)
	var l configuredLint
	for _, cl := range set.lints {
		if cl.Name == smallKeyLintName {
			l = cl
		}
	}
	if l.CertificateLint == nil {
		b.Fatalf("no %s in the TLS leaf registry", smallKeyLintName)
	}
	h := sharedHierarchy(b, KeyP256, KeyP256)
	for _, kt := range []KeyType{KeyP256, KeyP384} {
		key, err := freshKey(kt, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		d, err := h.Draft(leafRequest(b, h, ProfileOVTLS, key.Public(), ""))
		if err != nil {
			b.Fatal(err)
		}
		c, err := zx509.ParseCertificate(d.lint)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(kt)+"/zlint", func(b *testing.B) {
			for b.Loop() {
				l.Execute(c, set.cfg)
			}
		})
		b.Run(string(kt)+"/certorder", func(b *testing.B) {
			for b.Loop() {
				set.run(l, c)
			}
		})
		b.Run(string(kt)+"/leaf", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := lintLeaf(d.lint, PurposeTLS); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSmallKeyTablesAreRecomputed: each embedded table is what
// smallkey.Table computes now, whole, so a stale or damaged file fails
// here; its entries agree with ScalarBaseMult, by which zlint confirms a
// small key; and the curves with a table are the curves CheckKey accepts.
func TestSmallKeyTablesAreRecomputed(t *testing.T) {
	if len(smallKeyTables) != len(smallkey.Curves) {
		t.Errorf("%d embedded tables for %d curves", len(smallKeyTables), len(smallkey.Curves))
	}
	for _, curve := range smallkey.Curves {
		name := curve.Params().Name
		embedded, ok := smallKeyTables[curve]
		if !ok {
			t.Errorf("%s: no embedded table", name)
			continue
		}
		if !bytes.Equal([]byte(embedded), smallkey.Table(curve)) {
			t.Errorf("%s: the embedded table is not what smallkey.Table computes: run go generate ./internal/ca", name)
		}
		ds := []int64{1, 2, 3, 255, 256, 4097, 65535, smallkey.Max}
		for range 64 {
			ds = append(ds, 1+mrand.Int64N(smallkey.Max))
		}
		for _, d := range ds {
			x, _ := curve.ScalarBaseMult(big.NewInt(d).Bytes())
			if !smallkey.Has(embedded, smallkey.Low32(x)) {
				t.Errorf("%s: the X of %d*G is not in the table", name, d)
			}
		}
	}
	for _, curve := range []elliptic.Curve{elliptic.P224(), elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		_, hasTable := smallKeyTables[curve]
		if accepted := CheckKey(ecKey(t, curve).Public()) == nil; accepted != hasTable {
			t.Errorf("%s: CheckKey accepts it: %v; it has a table: %v", curve.Params().Name, accepted, hasTable)
		}
	}
}

// smallKeyCase is a public key and whether zlint's small-key lint, at
// its default Bits, must find it.
type smallKeyCase struct {
	name  string
	pub   *ecdsa.PublicKey
	small bool
}

// smallKeyCases: on curve, the keys d*G and (n-d)*G for small d at and
// near the bounds of the lint's tables and walk (2^16 the last it
// finds), both for 2^16+1, which it does not, and random keys.
func smallKeyCases(t *testing.T, curve elliptic.Curve) []smallKeyCase {
	n := curve.Params().N
	key := func(d *big.Int) *ecdsa.PublicKey {
		x, y := curve.ScalarBaseMult(d.Bytes())
		return &ecdsa.PublicKey{Curve: curve, X: x, Y: y}
	}
	var cases []smallKeyCase
	for _, d := range []int64{1, 2, 3, 255, 256, 4097, 65535, 65536, 65537} {
		small := d <= smallkey.Max
		cases = append(cases,
			smallKeyCase{fmt.Sprintf("d=%d", d), key(big.NewInt(d)), small},
			smallKeyCase{fmt.Sprintf("d=n-%d", d), key(new(big.Int).Sub(n, big.NewInt(d))), small})
	}
	for i := range 2 {
		cases = append(cases, smallKeyCase{fmt.Sprintf("random %d", i), &ecKey(t, curve).PublicKey, false})
	}
	return cases
}

// TestSmallKeyPrefilterIsZlints: for P-256 and P-384 keys with small
// private scalars (and their negations), keys just past the bound and
// random keys, in an OV TLS leaf and in a generated one (every field
// drawn at random, under an RSA, a P-256 or a P-384 issuer), certorder's
// loop gives, lint by lint, with the registry of TLS leaves and that of
// CA certificates (the prefilter is the same code in every registry,
// TestSmallKeyPrefilterSkipsTheWalk finds it on in each), the status
// zlint.LintCertificateEx gives, and the same errors and
// warnings; e_ecdsa_small_private_key is Error, with zlint's details, for
// the small keys and Pass for the others. A table missing a small key's
// X, or a prefilter looking at anything else, fails here.
func TestSmallKeyPrefilterIsZlints(t *testing.T) {
	regs, err := lintRegistries()
	if err != nil {
		t.Fatal(err)
	}
	registries := []lint.Registry{regs.leaves[PurposeTLS], regs.certs}
	h := sharedHierarchy(t, KeyP256, KeyP256)
	g := newGenerator(t, 1, 1)
	for _, curve := range smallkey.Curves {
		for _, tc := range smallKeyCases(t, curve) {
			t.Run(curve.Params().Name+"/"+tc.name, func(t *testing.T) {
				d, err := h.Draft(leafRequest(t, h, ProfileOVTLS, tc.pub, ""))
				if err != nil {
					t.Fatal(err)
				}
				iss := g.issuers[g.r.IntN(len(g.issuers))]
				gen, err := iss.draft(rand.Reader, generatedLeaf(t, g.r, iss, false), tc.pub)
				if err != nil {
					t.Fatal(err)
				}
				for ci, der := range [][]byte{d.lint, gen.lint} {
					c, err := zx509.ParseCertificate(der)
					if err != nil {
						t.Fatal(err)
					}
					for ri, reg := range registries {
						got, want := lintedAsZlint(t, c, reg, fmt.Sprintf("certificate %d, registry %d", ci, ri))
						wantStatus := map[bool]lint.LintStatus{true: lint.Error, false: lint.Pass}[tc.small]
						if got.Status != wantStatus || want.Status != wantStatus || got.Details != want.Details {
							t.Errorf("certificate %d, registry %d: %s is %v %q, zlint's %v %q; want %v",
								ci, ri, smallKeyLintName, got.Status, got.Details, want.Status, want.Details, wantStatus)
						}
					}
				}
			})
		}
	}
}

// lintedAsZlint fails t unless certorder's loop gives c under reg every
// lint's status as zlint.LintCertificateEx does, and its errors and
// warnings (by name: some details list key usages in map order); it
// returns the small-key lint's result from each.
func lintedAsZlint(t *testing.T, c *zx509.Certificate, reg lint.Registry, what string) (got, want *lint.LintResult) {
	t.Helper()
	set := lintSetOf(reg)
	rs := zlint.LintCertificateEx(c, reg)
	if len(rs.Results) != len(set.lints) {
		t.Errorf("%s: zlint ran %d lints, certorder's loop has %d", what, len(rs.Results), len(set.lints))
	}
	for _, l := range set.lints {
		r, w := set.run(l, c), rs.Results[l.Name]
		if w == nil {
			t.Errorf("%s: zlint gave no result for %s", what, l.Name)
			continue
		}
		if r.Status != w.Status {
			t.Errorf("%s: %s is %v, zlint's %v", what, l.Name, r.Status, w.Status)
		}
		if l.Name == smallKeyLintName {
			got, want = r, w
		}
	}
	gotErrs, gotWarns := lintNames(lintCertificate(c, reg, ""))
	wantErrs, wantWarns := lintNames(splitResults(rs))
	if !reflect.DeepEqual(gotErrs, wantErrs) || !reflect.DeepEqual(gotWarns, wantWarns) {
		t.Errorf("%s: certorder's loop found %v %v, zlint %v %v", what, gotErrs, gotWarns, wantErrs, wantWarns)
	}
	if got == nil || want == nil {
		t.Fatalf("%s: %s did not run", what, smallKeyLintName)
	}
	return got, want
}

// TestSmallKeyPrefilterSkipsTheWalk: the prefilter is on in every
// registry certorder lints with, and a leaf with a random P-256 or P-384
// key passes e_ecdsa_small_private_key without zlint's walk (the skip
// counter moves), while a small key goes to the walk.
func TestSmallKeyPrefilterSkipsTheWalk(t *testing.T) {
	regs, err := lintRegistries()
	if err != nil {
		t.Fatal(err)
	}
	for ri, reg := range append([]lint.Registry{regs.certs, regs.caKnownKey, regs.private}, slices.Collect(maps.Values(regs.leaves))...) {
		on := false
		for _, l := range lintSetOf(reg).lints {
			on = on || (l.Name == smallKeyLintName && l.smallKeyPrefilter)
		}
		if !on {
			t.Errorf("registry %d: no prefilter on %s", ri, smallKeyLintName)
		}
	}
	h := sharedHierarchy(t, KeyP256, KeyP256)
	for _, curve := range smallkey.Curves {
		for _, tc := range []smallKeyCase{{"random", &ecKey(t, curve).PublicKey, false}, {"d=3", smallKeyCases(t, curve)[4].pub, true}} {
			d, err := h.Draft(leafRequest(t, h, ProfileOVTLS, tc.pub, ""))
			if err != nil {
				t.Fatal(err)
			}
			c, err := zx509.ParseCertificate(d.lint)
			if err != nil {
				t.Fatal(err)
			}
			if smallKeyWalkCannotFlag(c) == tc.small {
				t.Errorf("%s %s: the prefilter says the walk cannot flag it: %v", curve.Params().Name, tc.name, !tc.small)
			}
			before := smallKeyWalkSkips.Load()
			errs, _, err := lintLeaf(d.lint, PurposeTLS)
			if err != nil {
				t.Fatal(err)
			}
			if moved := smallKeyWalkSkips.Load() > before; moved == tc.small {
				t.Errorf("%s %s: the skip counter moved: %v", curve.Params().Name, tc.name, moved)
			}
			if flagged := slices.ContainsFunc(errs, func(e string) bool { return strings.HasPrefix(e, smallKeyLintName+":") }); flagged != tc.small {
				t.Errorf("%s %s: %s failed: %v (%v)", curve.Params().Name, tc.name, smallKeyLintName, flagged, errs)
			}
		}
	}
}

// TestSmallKeyPrefilterOnlyAtBits16: configured with another Bits the
// lint runs as zlint runs it, finding 2^16+1 at Bits 20, passing 4097 at
// Bits 12, Fatal at Bits 40; the prefilter is on only at 16.
func TestSmallKeyPrefilterOnlyAtBits16(t *testing.T) {
	regs, err := lintRegistries()
	if err != nil {
		t.Fatal(err)
	}
	h := sharedHierarchy(t, KeyP256, KeyP256)
	key := func(d int64) *ecdsa.PublicKey {
		x, y := elliptic.P256().ScalarBaseMult(big.NewInt(d).Bytes())
		return &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	}
	for _, tc := range []struct {
		bits      int
		d         int64
		want      lint.LintStatus
		prefilter bool
	}{
		{16, 65536, lint.Error, true},
		{16, 65537, lint.Pass, true},
		{20, 65537, lint.Error, false},
		{12, 4097, lint.Pass, false},
		{12, 4096, lint.Error, false},
		{40, 65537, lint.Fatal, false},
	} {
		reg, err := regs.leaves[PurposeTLS].Filter(lint.FilterOptions{IncludeNames: []string{smallKeyLintName}})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := lint.NewConfigFromString(fmt.Sprintf("[%s]\nBits = %d\n", smallKeyLintName, tc.bits))
		if err != nil {
			t.Fatal(err)
		}
		reg.SetConfiguration(cfg)
		if l := lintSetOf(reg).lints[0]; l.smallKeyPrefilter != tc.prefilter {
			t.Errorf("Bits %d: prefilter %v, want %v", tc.bits, l.smallKeyPrefilter, tc.prefilter)
		}
		d, err := h.Draft(leafRequest(t, h, ProfileOVTLS, key(tc.d), ""))
		if err != nil {
			t.Fatal(err)
		}
		c, err := zx509.ParseCertificate(d.lint)
		if err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("Bits %d, d=%d", tc.bits, tc.d)
		if got, want := lintedAsZlint(t, c, reg, what); got.Status != tc.want || want.Status != tc.want {
			t.Errorf("%s: %v, zlint's %v; want %v", what, got.Status, want.Status, tc.want)
		}
	}
}
