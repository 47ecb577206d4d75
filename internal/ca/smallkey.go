package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	_ "embed"
	"reflect"
	"sync/atomic"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"

	"github.com/certorder/certorder/internal/ca/smallkey"
)

//go:generate go run ./smallkey/gentable

// zlint's e_ecdsa_small_private_key, at its default Bits of 16, finds
// by a baby-step giant-step walk whether an ECDSA key is d*G or -d*G for
// some d in [1, 2^16]: two walks of nine giant steps, each an affine
// addition of crypto/elliptic with its field inversion, and a random key
// pays all of them (a quarter to a third of a P-256 leaf's whole lint,
// more for P-384). Its Execute reports Error only for a d it has
// confirmed by ScalarBaseMult(d).X == X of the key, or for the d at which
// the walk met the point at infinity, where the key is ±d*G and so has
// that X too. So a key whose X is not the X of any d*G, d in [1, 2^16],
// can only pass; it can be Fatal only when Bits is outside [2, 32] (no
// prefilter then: Bits must be 16) or when the curve's addition panics,
// which it does only for a point off the curve, and CheckApplies has
// required the key on it and every point of the walk is a sum of points
// on it. smallkey's table holds the low 32 bits of each of those X: a
// key whose bits are not in it passes without the walk, any other (a
// small key, or one in 65536 of 2^32 by chance) runs zlint's Execute.
// TestSmallKeyPrefilterIsZlints holds the outcome to zlint's.

var (
	//go:embed smallkey-p256.bin
	smallKeyP256 string
	//go:embed smallkey-p384.bin
	smallKeyP384 string

	// smallKeyTables are the embedded tables by curve, one for each of
	// smallkey.Curves (TestSmallKeyTablesAreRecomputed).
	smallKeyTables = map[elliptic.Curve]string{elliptic.P256(): smallKeyP256, elliptic.P384(): smallKeyP384}
)

// smallKeyWalkSkips counts the certificates whose small-key lint passed
// without zlint's walk.
var smallKeyWalkSkips atomic.Uint64

// resultPass is shared as resultNA and resultNE are.
var resultPass = &lint.LintResult{Status: lint.Pass}

// smallKeyPrefilterFits: lint name's configured instance is zlint's
// e_ecdsa_small_private_key as this file knows it, a struct of one int
// field Bits, and Bits is the tables' bound. Anything else (another
// Bits, a zlint whose lint has grown a field) runs zlint's Execute.
func smallKeyPrefilterFits(name string, inst lint.CertificateLintInterface) bool {
	if name != "e_ecdsa_small_private_key" {
		return false
	}
	v := reflect.ValueOf(inst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return false
	}
	t := v.Elem().Type()
	if t.PkgPath() != "github.com/zmap/zlint/v3/lints/community" || t.Name() != "ecdsaSmallPrivateKey" || t.NumField() != 1 {
		return false
	}
	bits := v.Elem().FieldByName("Bits")
	return bits.IsValid() && bits.Kind() == reflect.Int && bits.Int() == smallkey.Bits
}

// smallKeyWalkCannotFlag: c's ECDSA key (taken as the lint takes it) is
// on a curve with a table, and the low 32 bits of its X are not in it,
// so no d in [1, 2^16] has d*G with that X and the lint passes.
func smallKeyWalkCannotFlag(c *zx509.Certificate) bool {
	if c.PublicKeyAlgorithm != zx509.ECDSA {
		return false
	}
	var key *ecdsa.PublicKey
	switch k := c.PublicKey.(type) {
	case *zx509.AugmentedECDSA:
		key = k.Pub
	case *ecdsa.PublicKey:
		key = k
	}
	if key == nil || key.X == nil {
		return false
	}
	table, ok := smallKeyTables[key.Curve]
	return ok && !smallkey.Has(table, smallkey.Low32(key.X))
}
