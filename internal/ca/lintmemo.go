package ca

import (
	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

//go:generate go run ./lintinputs/genfixed

// The lint memo. Of the lints a leaf goes through, a third read only
// what a profile and its issuing CA fix: the issuer, the signature
// algorithm, the key's algorithm, the key usages, the policies, the CRL
// and AIA locations (fixedLints, found by package lintinputs in zlint's
// source and recomputed by TestFixedLintsAreRecomputed). Their outcome is
// the same for every certificate whose fixed parts (fixedKey) are the
// same byte for byte, so each lint set keeps, per distinct fixed parts,
// what CheckApplies and Execute gave for them the first time, and a
// later certificate takes it from there; the framework's source filter
// and the effective dates, which read the certificate's validity, are
// still judged per certificate. Every lint still runs on every
// certificate in the sense that matters: each outcome the certificate
// gets is the one zlint would compute for it (TestLintMemoIsZlints holds
// the memo to zlint on the final certificates of every profile, and on
// generated ones made to break lints in their fixed and in their variable
// parts).

// fixedOutcome is one fixed lint's outcome for one set of fixed parts.
type fixedOutcome struct {
	// applies: CheckApplies said yes. When it did not, result is nil,
	// or the Fatal of its panic.
	applies bool
	result  *lint.LintResult
}

// memoEntry is a lint set's fixed lints' outcomes for one set of fixed
// parts, by the lints' index in the set; never written once stored.
type memoEntry struct {
	outcomes []fixedOutcome
}

// memoLimit bounds the fixed parts a lint set remembers (give or take the
// calls that find it reached at once). A hierarchy has a few issuers,
// each a few profiles, key algorithms and hashes; a certificate past the
// limit makes an entry of its own that is not kept.
const memoLimit = 512

// entryFor is the memo's entry for key, made from c and stored when new.
func (set *lintSet) entryFor(key string, c *zx509.Certificate) *memoEntry {
	if v, ok := set.memo.Load(key); ok {
		return v.(*memoEntry)
	}
	e := &memoEntry{outcomes: make([]fixedOutcome, len(set.lints))}
	for i, l := range set.lints {
		if set.fixed[i] {
			e.outcomes[i] = set.outcome(l, c)
		}
	}
	if set.memoLen.Load() < memoLimit {
		if v, loaded := set.memo.LoadOrStore(key, e); loaded {
			return v.(*memoEntry)
		}
		set.memoLen.Add(1)
	}
	return e
}

// outcome runs a fixed lint's CheckApplies and, when it applies, its
// Execute, whatever the framework's filter and the effective dates say
// of c (they are judged per certificate in replay); a panic is Fatal,
// as in run.
func (set *lintSet) outcome(l configuredLint, c *zx509.Certificate) (o fixedOutcome) {
	defer func() {
		if err := recover(); err != nil {
			o.result = panicResult(l, err)
		}
	}()
	impl := set.instance(l)
	if !impl.CheckApplies(c) {
		return fixedOutcome{}
	}
	o.applies = true
	o.result = impl.Execute(c)
	return o
}

// replay is run for a fixed lint, with CheckApplies and Execute taken
// from the memo.
func (set *lintSet) replay(l configuredLint, o fixedOutcome, c *zx509.Certificate) *lint.LintResult {
	if filteredOut(l, c) {
		return resultNA
	}
	switch {
	case !o.applies && o.result == nil:
		return resultNA
	case !o.applies:
		return o.result // CheckApplies panicked
	case !l.CheckEffective(c):
		return resultNE
	}
	return o.result
}

// fixedKey is the fixed parts of the DER certificate c was parsed from,
// every field of c that a fixed lint may read (lintinputs.FixedFields) is
// a function of: the version, the TBSCertificate's signature algorithm,
// the issuer, the algorithm of the subject's key, every extension whole
// but those lintinputs.VariableExtensions names (of which the identifier
// and criticality only), the outer signature algorithm and the signature,
// and whether zcrypto found c self-signed. Each part is a whole DER
// element, so the concatenation is unambiguous. "" when der does not
// read as a certificate: it is then linted whole.
func fixedKey(der []byte, c *zx509.Certificate) string {
	in := cryptobyte.String(der)
	var cert, tbs, part, spki, exts cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !in.Empty() || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return ""
	}
	key := make([]byte, 0, 1024)
	if c.SelfSigned {
		key = append(key, 1)
	} else {
		key = append(key, 0)
	}
	element := func(s *cryptobyte.String, tag cbasn1.Tag) bool {
		var e cryptobyte.String
		if !s.ReadASN1Element(&e, tag) {
			return false
		}
		key = append(key, e...)
		return true
	}
	if tbs.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		if !element(&tbs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return ""
		}
	} else {
		key = append(key, 0) // no version: v1
	}
	if !tbs.SkipASN1(cbasn1.INTEGER) || // serial
		!element(&tbs, cbasn1.SEQUENCE) || // signature algorithm
		!element(&tbs, cbasn1.SEQUENCE) || // issuer
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // validity
		!tbs.SkipASN1(cbasn1.SEQUENCE) || // subject
		!tbs.ReadASN1(&spki, cbasn1.SEQUENCE) || !element(&spki, cbasn1.SEQUENCE) {
		return ""
	}
	for _, t := range []cbasn1.Tag{cbasn1.Tag(1).ContextSpecific(), cbasn1.Tag(2).ContextSpecific()} {
		if !tbs.SkipOptionalASN1(t) { // the unique identifiers: no fixed field
			return ""
		}
	}
	key = append(key, 0xfe) // the extensions start; no DER element starts so here
	var present bool
	if !tbs.ReadOptionalASN1(&exts, &present, cbasn1.Tag(3).Constructed().ContextSpecific()) {
		return ""
	}
	if present && (!exts.ReadASN1(&part, cbasn1.SEQUENCE) || !exts.Empty()) {
		return ""
	}
	for !part.Empty() {
		var whole, ext, oid cryptobyte.String
		if !part.ReadASN1Element(&whole, cbasn1.SEQUENCE) {
			return ""
		}
		outer := whole
		if !outer.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1Element(&oid, cbasn1.OBJECT_IDENTIFIER) {
			return ""
		}
		if !variableExtension(oid) {
			key = append(key, whole...)
			continue
		}
		key = append(key, oid...)
		if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !element(&ext, cbasn1.BOOLEAN) {
			return ""
		}
		key = append(key, 0xff) // its value left out
	}
	key = append(key, 0xfd) // the extensions end
	if !tbs.Empty() || !element(&cert, cbasn1.SEQUENCE) || !element(&cert, cbasn1.BIT_STRING) || !cert.Empty() {
		return ""
	}
	return string(key)
}

func variableExtension(oid []byte) bool {
	for _, v := range variableExtensions {
		if string(v) == string(oid) {
			return true
		}
	}
	return false
}
