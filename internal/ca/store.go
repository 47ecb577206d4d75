package ca

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// manifestName is written last during creation: a directory without it
// holds at most the debris of an interrupted creation, never a hierarchy.
const manifestName = "hierarchy.json"

// manifestVersion 2 records each issuer's purpose. Version 1 (one TLS
// issuer) is still read and is rewritten as version 2 on upgrade.
const manifestVersion = 2

type manifest struct {
	Version int           `json:"version"`
	Root    keyPairFile   `json:"root"`
	Issuers []keyPairFile `json:"issuers"`
	// Previous are the fingerprints the hierarchy had before each upgrade
	// added intermediates, oldest first: a store that recorded one of them
	// belongs to this CA (see PreviousFingerprints).
	Previous []string `json:"previous_fingerprints,omitempty"`
}

type keyPairFile struct {
	Cert    string  `json:"cert"`
	Key     string  `json:"key"`
	Purpose Purpose `json:"purpose,omitempty"` // issuers only; absent in version 1
}

// issuerPlan is one intermediate a hierarchy must have.
type issuerPlan struct {
	purpose Purpose
	keyType KeyType
	label   string // the subject CN is "<org> <label> <n>"
}

// issuerPlans fixes the key of each purpose's intermediates. The code
// signing and S/MIME products sign SHA-256 only, so their CAs must be
// able to: code signing takes RSA 3072 (the CS BR 6.1.5 minimum; a P-384
// key would be held to SHA-384), S/MIME takes P-256, which signs exactly
// ECDSA with SHA-256 (S/MIME BR 7.1.3.2) and costs nothing to generate. X9
// gets an RSA 2048 (like the default TLS issuer, as common for issuing
// CAs) and a P-384 intermediate so that ca_cert_id has a real choice: the
// RSA one signs SHA-256/384/512, the P-384 one SHA-384 only.
func (h *Hierarchy) issuerPlans(p Purpose) []issuerPlan {
	switch p {
	case PurposeTLS:
		return []issuerPlan{{p, h.cfg.IssuerKeyType, "TLS Issuing CA"}}
	case PurposeCodeSigning:
		return []issuerPlan{{p, KeyRSA3072, "Code Signing Issuing CA"}}
	case PurposeSMIME:
		return []issuerPlan{{p, KeyP256, "S/MIME Issuing CA"}}
	case PurposeX9:
		return []issuerPlan{{p, KeyRSA2048, "X9 Issuing CA RSA"}, {p, KeyP384, "X9 Issuing CA ECC"}}
	case PurposePrivateTLS:
		// RSA 2048 signs every hash Private SSL offers.
		return []issuerPlan{{p, KeyRSA2048, "Private TLS Issuing CA"}}
	}
	return nil
}

func (h *Hierarchy) loadOrCreate() error {
	if err := os.MkdirAll(h.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	m, err := h.load()
	if err == errNoManifest {
		return h.create()
	}
	if err != nil {
		return err
	}
	if m.Version != manifestVersion || len(h.missingPurposes()) > 0 {
		return h.upgrade()
	}
	return nil
}

func (h *Hierarchy) missingPurposes() []Purpose {
	var out []Purpose
	for _, p := range purposes {
		if h.DefaultIssuerFor(p) == nil {
			out = append(out, p)
		}
	}
	return out
}

// errNoManifest alone starts creation; a manifest naming missing files is
// a damaged hierarchy and must not be silently replaced.
var errNoManifest = errors.New("ca: no hierarchy manifest")

func (h *Hierarchy) load() (manifest, error) {
	var m manifest
	b, err := os.ReadFile(filepath.Join(h.cfg.Dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return m, errNoManifest
	}
	if err != nil {
		return m, fmt.Errorf("ca: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("ca: %s: %w", manifestName, err)
	}
	if (m.Version != 1 && m.Version != manifestVersion) || len(m.Issuers) == 0 {
		return m, fmt.Errorf("ca: %s: unsupported version %d or no issuers", manifestName, m.Version)
	}
	root, rootKey, err := h.loadPair(m.Root)
	if err != nil {
		return m, err
	}
	if !root.IsCA || root.CheckSignatureFrom(root) != nil {
		return m, fmt.Errorf("ca: %s is not a self-signed CA certificate", m.Root.Cert)
	}
	h.root, h.rootKey = root, rootKey
	h.previous = m.Previous
	for i, p := range m.Issuers {
		if m.Version == 1 {
			// Version 1 only ever held the TLS issuer.
			m.Issuers[i].Purpose = PurposeTLS
			p.Purpose = PurposeTLS
		}
		if !p.Purpose.valid() {
			return m, fmt.Errorf("ca: %s: issuer %s has unknown purpose %q", manifestName, p.Cert, p.Purpose)
		}
		cert, key, err := h.loadPair(p)
		if err != nil {
			return m, err
		}
		if !cert.IsCA || cert.CheckSignatureFrom(root) != nil {
			return m, fmt.Errorf("ca: %s is not a CA certificate signed by the root", p.Cert)
		}
		// A mislabelled issuer would sign leaves its EKU does not allow.
		if want, pols := caProfile(p.Purpose); !sameEKUs(cert.ExtKeyUsage, want) || len(cert.UnknownExtKeyUsage) > 0 || !samePolicies(cert.Policies, pols) {
			return m, fmt.Errorf("ca: %s: extended key usages %v and policies %v do not fit purpose %s", p.Cert, cert.ExtKeyUsage, cert.Policies, p.Purpose)
		}
		iss, err := newIssuer(cert, key, p.Purpose)
		if err != nil {
			return m, err
		}
		if _, dup := h.Issuer(iss.ID); dup {
			return m, fmt.Errorf("ca: issuer id %s appears twice", iss.ID)
		}
		h.issuers = append(h.issuers, iss)
	}
	if h.DefaultIssuerFor(PurposeTLS) != h.issuers[0] {
		return m, fmt.Errorf("ca: %s: the first issuer must be a TLS issuer", manifestName)
	}
	return m, nil
}

func samePolicies(a, b []x509.OID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func sameEKUs(a, b []x509.ExtKeyUsage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (h *Hierarchy) loadPair(p keyPairFile) (*x509.Certificate, crypto.Signer, error) {
	for _, name := range []string{p.Cert, p.Key} {
		if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			return nil, nil, fmt.Errorf("ca: %s: bad file name %q", manifestName, name)
		}
	}
	cb, err := os.ReadFile(filepath.Join(h.cfg.Dir, p.Cert))
	if err != nil {
		return nil, nil, fmt.Errorf("ca: %w", err)
	}
	blk, rest := pem.Decode(cb)
	if blk == nil || blk.Type != "CERTIFICATE" || strings.TrimSpace(string(rest)) != "" {
		return nil, nil, fmt.Errorf("ca: %s: want exactly one CERTIFICATE PEM block", p.Cert)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: %s: %w", p.Cert, err)
	}
	kb, err := os.ReadFile(filepath.Join(h.cfg.Dir, p.Key))
	if err != nil {
		return nil, nil, fmt.Errorf("ca: %w", err)
	}
	blk, _ = pem.Decode(kb)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, nil, fmt.Errorf("ca: %s: want a PKCS#8 PRIVATE KEY PEM block", p.Key)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: %s: %w", p.Key, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("ca: %s: key %T cannot sign", p.Key, k)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("ca: %s does not match the public key of %s", p.Key, p.Cert)
	}
	if _, err := keyTypeOf(cert.PublicKey); err != nil {
		return nil, nil, err
	}
	return cert, signer, nil
}

// builtIssuer is a new intermediate not yet on disk.
type builtIssuer struct {
	iss  *Issuer
	key  crypto.Signer
	file keyPairFile
}

// buildIssuers makes the intermediates of purposes ps under the given
// root, in plan order.
func (h *Hierarchy) buildIssuers(ps []Purpose, root *x509.Certificate, rootKey crypto.Signer, now time.Time) ([]builtIssuer, error) {
	var plans []issuerPlan
	for _, p := range ps {
		plans = append(plans, h.issuerPlans(p)...)
	}
	kts := make([]KeyType, len(plans))
	for i, plan := range plans {
		kts[i] = plan.keyType
	}
	keys, err := h.generateKeys(kts, "issuer")
	if err != nil {
		return nil, err
	}
	var out []builtIssuer
	for i, plan := range plans {
		name := fmt.Sprintf("%s %s %d", h.cfg.OrgName, plan.label, 1)
		cert, err := h.makeIntermediate(root, rootKey, keys[i], now, plan.purpose, name)
		if err != nil {
			return nil, err
		}
		iss, err := newIssuer(cert, keys[i], plan.purpose)
		if err != nil {
			return nil, err
		}
		out = append(out, builtIssuer{iss: iss, key: keys[i],
			file: keyPairFile{Cert: "issuer-" + iss.ID + ".crt", Key: "issuer-" + iss.ID + ".key", Purpose: plan.purpose}})
	}
	return out, nil
}

// generateKeys makes one key per type concurrently: RSA generation is
// CPU-bound and a new hierarchy needs several keys. Config.Rand need not be
// safe for concurrent use, so the goroutines share it under a lock.
func (h *Hierarchy) generateKeys(kts []KeyType, slot string) ([]crypto.Signer, error) {
	r := &lockedReader{r: h.cfg.Rand}
	keys := make([]crypto.Signer, len(kts))
	errs := make([]error, len(kts))
	var wg sync.WaitGroup
	for i, kt := range kts {
		wg.Go(func() {
			if h.cfg.KeySource != nil {
				slot := slot
				if slot != "root" {
					slot = fmt.Sprintf("%s-%d", slot, i)
				}
				keys[i], errs[i] = h.cfg.KeySource(kt, slot)
			} else {
				keys[i], errs[i] = generateKey(kt, r)
			}
			if errs[i] != nil {
				errs[i] = fmt.Errorf("ca: %s key: %w", kt, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return keys, nil
}

type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// fileSet writes new files exclusively and can take them all back.
type fileSet struct {
	dir     string
	written []string
}

func (f *fileSet) write(name string, data []byte, mode os.FileMode) error {
	p := filepath.Join(f.dir, name)
	if err := writeFileSync(p, data, mode); err != nil {
		return err
	}
	f.written = append(f.written, p)
	return nil
}

func (f *fileSet) writePair(kp keyPairFile, cert *x509.Certificate, key crypto.Signer) error {
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	if err := f.write(kp.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return f.write(kp.Cert, EncodePEM(cert), 0o644)
}

func (f *fileSet) cleanup() {
	for _, p := range f.written {
		os.Remove(p)
	}
	f.written = nil
}

// create makes a new root and every purpose's intermediates. Files get
// unique names and the manifest is linked into place exclusively, so a
// crash leaves no manifest and two racing creators cannot mix their files:
// the loser loads the winner.
func (h *Hierarchy) create() error {
	now := h.cfg.Now().UTC().Truncate(time.Second)
	rootKeys, err := h.generateKeys([]KeyType{h.cfg.RootKeyType}, "root")
	if err != nil {
		return err
	}
	rootKey := rootKeys[0]
	root, err := h.makeRoot(rootKey, now)
	if err != nil {
		return err
	}
	rootID, err := issuerID(root)
	if err != nil {
		return err
	}
	m := manifest{
		Version: manifestVersion,
		Root:    keyPairFile{Cert: "root-" + rootID + ".crt", Key: "root-" + rootID + ".key"},
	}
	built, err := h.buildIssuers(purposes, root, rootKey, now)
	if err != nil {
		return err
	}

	files := &fileSet{dir: h.cfg.Dir}
	if err := files.writePair(m.Root, root, rootKey); err != nil {
		files.cleanup()
		return err
	}
	var issuers []*Issuer
	for _, b := range built {
		if err := files.writePair(b.file, b.iss.Cert, b.key); err != nil {
			files.cleanup()
			return err
		}
		m.Issuers = append(m.Issuers, b.file)
		issuers = append(issuers, b.iss)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		files.cleanup()
		return fmt.Errorf("ca: %w", err)
	}
	tmp := filepath.Join(h.cfg.Dir, "."+manifestName+"."+rootID)
	if err := files.write(filepath.Base(tmp), append(mb, '\n'), 0o600); err != nil {
		files.cleanup()
		return err
	}
	final := filepath.Join(h.cfg.Dir, manifestName)
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			files.cleanup()
			_, err := h.load()
			return err
		}
		// No hard links here: fall back to a rename, still atomic.
		if _, serr := os.Lstat(final); serr == nil {
			files.cleanup()
			_, err := h.load()
			return err
		}
		if err := os.Rename(tmp, final); err != nil {
			files.cleanup()
			return fmt.Errorf("ca: %w", err)
		}
	}
	os.Remove(tmp)
	syncDir(h.cfg.Dir)
	h.root, h.rootKey = root, rootKey
	h.issuers = issuers
	return nil
}

// upgrade adds the intermediates of purposes an older hierarchy lacks,
// signed by its existing root, and rewrites the manifest as version 2.
// Existing files are never touched. The directory lock keeps two processes
// from upgrading at once; the manifest is re-read under it, as another
// process may have finished the upgrade meanwhile.
func (h *Hierarchy) upgrade() error {
	unlock, err := lockDir(h.cfg.Dir)
	if err != nil {
		return err
	}
	defer unlock()
	h.root, h.rootKey, h.issuers = nil, nil, nil
	m, err := h.load()
	if err != nil {
		return err
	}
	missing := h.missingPurposes()
	if len(missing) == 0 && m.Version == manifestVersion {
		return nil
	}
	now := h.cfg.Now().UTC().Truncate(time.Second)
	if now.After(h.root.NotAfter) {
		return errors.New("ca: cannot add intermediates: the root has expired")
	}
	built, err := h.buildIssuers(missing, h.root, h.rootKey, now)
	if err != nil {
		return err
	}
	m.Previous = append(m.Previous, h.Fingerprint())
	h.previous = m.Previous
	files := &fileSet{dir: h.cfg.Dir}
	for _, b := range built {
		if err := files.writePair(b.file, b.iss.Cert, b.key); err != nil {
			files.cleanup()
			return err
		}
		m.Issuers = append(m.Issuers, b.file)
		h.issuers = append(h.issuers, b.iss)
	}
	m.Version = manifestVersion
	if err := replaceManifest(h.cfg.Dir, m); err != nil {
		files.cleanup()
		return err
	}
	return nil
}

// replaceManifest writes m to a temporary file, syncs it and renames it
// over the manifest, so a crash leaves either the old or the new one.
func replaceManifest(dir string, m manifest) error {
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+manifestName+".*")
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(append(mb, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, manifestName))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("ca: rewriting %s: %w", manifestName, err)
	}
	syncDir(dir)
	return nil
}

func writeFileSync(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("ca: %w", err)
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort; not every platform can sync a directory
		d.Close()
	}
}

func (h *Hierarchy) caName(cn string) pkix.Name {
	return pkix.Name{
		Country:      []string{h.cfg.Country},
		Organization: []string{h.cfg.OrgName},
		CommonName:   cn,
	}
}

func (h *Hierarchy) makeRoot(key crypto.Signer, now time.Time) (*x509.Certificate, error) {
	serial, err := NewSerial(h.cfg.Rand)
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               h.caName(h.cfg.OrgName + " Root CA"),
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            -1,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    defaultSigAlg(key.Public()),
	}
	return h.signCA(tmpl, tmpl, key.Public(), key, "root")
}

// caProfile is the EKU and policy set of an intermediate by purpose.
//
// TLS, X9, private TLS and S/MIME keep anyPolicy: each issues several policies, the CA
// is run by the root's operator (BR 7.1.2.10.5 and S/MIME BR 7.1.2.2 allow
// anyPolicy for an affiliate), zlint refuses more than one reserved CA/B
// Forum OID in a TLS CA, and zlint's
// e_mailbox_validated_allowed_subjectdn_attributes would judge an S/MIME
// CA naming 2.23.140.1.5.1.3 by the subscriber subject rules. Code signing
// names its two leaf policies instead (CS BR 7.1.2.2 allows either), which
// also brings the CA under zlint's CS lints, selected by those OIDs.
func caProfile(p Purpose) ([]x509.ExtKeyUsage, []x509.OID) {
	switch p {
	case PurposeTLS, PurposeX9, PurposePrivateTLS:
		// A private TLS CA naming only its private policy would be a
		// policy-restricted serverAuth CA without a CA/B Forum OID, which
		// BR 7.1.2.10.5 (e_invalid_ca_certificate_policies) refuses; its
		// leaves carry the private policy alone.
		return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, []x509.OID{oidAnyPolicy}
	case PurposeCodeSigning:
		// CS BR 7.1.2.2: codeSigning, never serverAuth or anyExtendedKeyUsage.
		return []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, []x509.OID{oidCodeSigning, oidEVCodeSigning}
	case PurposeSMIME:
		// S/MIME BR 7.1.2.2: emailProtection, clientAuth allowed, serverAuth forbidden.
		return []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageClientAuth}, []x509.OID{oidAnyPolicy}
	}
	return nil, nil
}

func (h *Hierarchy) makeIntermediate(root *x509.Certificate, rootKey, key crypto.Signer, now time.Time, p Purpose, name string) (*x509.Certificate, error) {
	serial, err := NewSerial(h.cfg.Rand)
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	notAfter := now.AddDate(10, 0, 0)
	if notAfter.After(root.NotAfter) {
		notAfter = root.NotAfter
	}
	ekus, policies := caProfile(p)
	if ekus == nil {
		return nil, fmt.Errorf("ca: unknown purpose %q", p)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               h.caName(name),
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           ekus,
		Policies:              policies,
		IssuingCertificateURL: []string{h.RootCertURL()},
		CRLDistributionPoints: []string{h.RootCRLURL()},
		SubjectKeyId:          ski,
		SignatureAlgorithm:    defaultSigAlg(rootKey.Public()),
	}
	return h.signCA(tmpl, root, key.Public(), rootKey, string(p)+" intermediate")
}

func (h *Hierarchy) signCA(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer, what string) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(h.cfg.Rand, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("ca: %s: %w", what, err)
	}
	errs, _, err := lintCA(der, key.Public())
	if err != nil {
		return nil, fmt.Errorf("ca: %s: %w", what, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ca: %s: %w", what, &LintError{Lints: errs})
	}
	return x509.ParseCertificate(der)
}
