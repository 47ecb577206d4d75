package ca

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// manifestName is written last during creation: a directory without it
// holds at most the debris of an interrupted creation, never a hierarchy.
const manifestName = "hierarchy.json"

type manifest struct {
	Version int           `json:"version"`
	Root    keyPairFile   `json:"root"`
	Issuers []keyPairFile `json:"issuers"`
}

type keyPairFile struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

func (h *Hierarchy) loadOrCreate() error {
	if err := os.MkdirAll(h.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	err := h.load()
	if err != errNoManifest {
		return err
	}
	return h.create()
}

// errNoManifest alone starts creation; a manifest naming missing files is
// a damaged hierarchy and must not be silently replaced.
var errNoManifest = errors.New("ca: no hierarchy manifest")

func (h *Hierarchy) load() error {
	b, err := os.ReadFile(filepath.Join(h.cfg.Dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return errNoManifest
	}
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("ca: %s: %w", manifestName, err)
	}
	if m.Version != 1 || len(m.Issuers) == 0 {
		return fmt.Errorf("ca: %s: unsupported version %d or no issuers", manifestName, m.Version)
	}
	root, rootKey, err := h.loadPair(m.Root)
	if err != nil {
		return err
	}
	if !root.IsCA || root.CheckSignatureFrom(root) != nil {
		return fmt.Errorf("ca: %s is not a self-signed CA certificate", m.Root.Cert)
	}
	h.root, h.rootKey = root, rootKey
	for _, p := range m.Issuers {
		cert, key, err := h.loadPair(p)
		if err != nil {
			return err
		}
		if !cert.IsCA || cert.CheckSignatureFrom(root) != nil {
			return fmt.Errorf("ca: %s is not a CA certificate signed by the root", p.Cert)
		}
		iss, err := newIssuer(cert, key)
		if err != nil {
			return err
		}
		if _, dup := h.Issuer(iss.ID); dup {
			return fmt.Errorf("ca: issuer id %s appears twice", iss.ID)
		}
		h.issuers = append(h.issuers, iss)
	}
	return nil
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

// create makes a new root and intermediate. Files get unique names and the
// manifest is linked into place exclusively, so a crash leaves no manifest
// and two racing creators cannot mix their files: the loser loads the winner.
func (h *Hierarchy) create() error {
	now := h.cfg.Now().UTC().Truncate(time.Second)
	rootKey, err := generateKey(h.cfg.RootKeyType, h.cfg.Rand)
	if err != nil {
		return fmt.Errorf("ca: root key: %w", err)
	}
	issKey, err := generateKey(h.cfg.IssuerKeyType, h.cfg.Rand)
	if err != nil {
		return fmt.Errorf("ca: issuer key: %w", err)
	}
	root, err := h.makeRoot(rootKey, now)
	if err != nil {
		return err
	}
	inter, err := h.makeIntermediate(root, rootKey, issKey, now, 1)
	if err != nil {
		return err
	}
	iss, err := newIssuer(inter, issKey)
	if err != nil {
		return err
	}
	rootID, err := issuerID(root)
	if err != nil {
		return err
	}

	m := manifest{
		Version: 1,
		Root:    keyPairFile{Cert: "root-" + rootID + ".crt", Key: "root-" + rootID + ".key"},
		Issuers: []keyPairFile{{Cert: "issuer-" + iss.ID + ".crt", Key: "issuer-" + iss.ID + ".key"}},
	}
	var written []string
	cleanup := func() {
		for _, p := range written {
			os.Remove(p)
		}
	}
	write := func(name string, data []byte, mode os.FileMode) error {
		p := filepath.Join(h.cfg.Dir, name)
		if err := writeFileSync(p, data, mode); err != nil {
			return err
		}
		written = append(written, p)
		return nil
	}
	pairs := []struct {
		f    keyPairFile
		cert *x509.Certificate
		key  crypto.Signer
	}{{m.Root, root, rootKey}, {m.Issuers[0], inter, issKey}}
	for _, p := range pairs {
		kb, err := x509.MarshalPKCS8PrivateKey(p.key)
		if err != nil {
			cleanup()
			return fmt.Errorf("ca: %w", err)
		}
		if err := write(p.f.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
			cleanup()
			return err
		}
		if err := write(p.f.Cert, EncodePEM(p.cert), 0o644); err != nil {
			cleanup()
			return err
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		cleanup()
		return fmt.Errorf("ca: %w", err)
	}
	tmp := filepath.Join(h.cfg.Dir, "."+manifestName+"."+rootID)
	if err := write(filepath.Base(tmp), append(mb, '\n'), 0o600); err != nil {
		cleanup()
		return err
	}
	final := filepath.Join(h.cfg.Dir, manifestName)
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			cleanup()
			return h.load()
		}
		// No hard links here: fall back to a rename, still atomic.
		if _, serr := os.Lstat(final); serr == nil {
			cleanup()
			return h.load()
		}
		if err := os.Rename(tmp, final); err != nil {
			cleanup()
			return fmt.Errorf("ca: %w", err)
		}
	}
	os.Remove(tmp)
	syncDir(h.cfg.Dir)
	h.root, h.rootKey = root, rootKey
	h.issuers = []*Issuer{iss}
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

func (h *Hierarchy) makeIntermediate(root *x509.Certificate, rootKey, key crypto.Signer, now time.Time, n int) (*x509.Certificate, error) {
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
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               h.caName(fmt.Sprintf("%s TLS Issuing CA %d", h.cfg.OrgName, n)),
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		// anyPolicy: the one intermediate issues DV, OV and EV, and zlint
		// (BR 7.1.2.10.5) refuses more than one reserved CA/B Forum OID.
		Policies:              []x509.OID{oidAnyPolicy},
		IssuingCertificateURL: []string{h.RootCertURL()},
		CRLDistributionPoints: []string{h.RootCRLURL()},
		SubjectKeyId:          ski,
		SignatureAlgorithm:    defaultSigAlg(rootKey.Public()),
	}
	return h.signCA(tmpl, root, key.Public(), rootKey, "intermediate")
}

func (h *Hierarchy) signCA(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer, what string) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(h.cfg.Rand, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("ca: %s: %w", what, err)
	}
	errs, _, err := LintCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca: %s: %w", what, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ca: %s: %w", what, &LintError{Lints: errs})
	}
	return x509.ParseCertificate(der)
}
