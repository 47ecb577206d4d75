package main

// The minimal-issuance floor of certorder bench: a child process that does
// the least an order can be on this machine, and nothing else. It parses
// and verifies the CSR of the order's JSON body, builds and signs a leaf
// with crypto/x509 under an issuer key of the same type as certorder's,
// inserts one row per certificate with group commit (SQLite in WAL mode
// with synchronous=FULL, or PostgreSQL with its default synchronous
// commit), and answers 201 only once that row is durable, with a body as
// long as certorder's answer. The bench measures it with the same clients
// at the same concurrencies as certorder: certorder's rows divided by its
// rows are what certorder's rules, linting, audit and API cost on top.
// Keep it minimal: every line added here makes certorder look better.
//
// With --lint it also lints every leaf as certorder lints its drafts
// (ca.LintAsDrafted: the TBSCertificate with the lint memo) and answers
// 500 to a leaf with a lint error: the "minimal+lint" rows, what the lint
// the targets keep leaves of the floor's rate.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/certorder/certorder/internal/ca"
)

// benchMinimalCmd is the hidden `certorder bench-minimal --addr A
// --key-type T --data DIR [--database URL] --answer-size N [--lint]
// [--cpuprofile FILE]`.
func benchMinimalCmd(args []string) error {
	fs := flag.NewFlagSet("bench-minimal", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	keyType := fs.String("key-type", "p256", "issuer key type: p256, p384, rsa2048, rsa3072, rsa4096")
	dir := fs.String("data", "", "directory of the SQLite file")
	database := fs.String("database", "", "a postgres:// URL instead of SQLite")
	size := fs.Int("answer-size", 0, "pad every 201 with spaces to this many bytes")
	lint := fs.Bool("lint", false, "lint every leaf as certorder lints its drafts before answering")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	setServerGCPercent()
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return fmt.Errorf("bench-minimal: %w", err)
	}
	defer stopProfile()
	key, err := minimalKey(*keyType)
	if err != nil {
		return fmt.Errorf("bench-minimal: %w", err)
	}
	issuer, err := minimalIssuer(key)
	if err != nil {
		return fmt.Errorf("bench-minimal: issuer: %w", err)
	}
	if *lint {
		if err := minimalWarmLint(key, issuer); err != nil {
			return fmt.Errorf("bench-minimal: %w", err)
		}
	}
	db, insert, err := minimalStore(*dir, *database, minimalTable(*lint))
	if err != nil {
		return fmt.Errorf("bench-minimal: %w", err)
	}
	defer db.Close()
	jobs := make(chan *minimalJob, 1024)
	go minimalCommitter(db, insert, jobs)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("bench-minimal: %w", err)
	}
	srv := &http.Server{Handler: minimalHandler(key, issuer, jobs, *size, *lint), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func minimalKey(kt string) (crypto.Signer, error) {
	switch kt {
	case "p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa2048", "rsa3072", "rsa4096":
		bits, _ := strconv.Atoi(kt[3:])
		return rsa.GenerateKey(rand.Reader, bits)
	}
	return nil, fmt.Errorf("unknown key type %q", kt)
}

// minimalIssuer is a self-signed CA certificate for key.
func minimalIssuer(key crypto.Signer) (*x509.Certificate, error) {
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"certorder bench"}, CommonName: "Minimal Floor CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// minimalTable is the floor's table: the two floors of a run on one
// PostgreSQL database each start theirs empty, beside the other's.
func minimalTable(lint bool) string {
	if lint {
		return "bench_minimal_lint_floor"
	}
	return "bench_minimal_floor"
}

// minimalStore opens the store and creates its one table, empty.
func minimalStore(dir, database, table string) (*sql.DB, string, error) {
	if database != "" {
		db, err := sql.Open("pgx", database)
		if err != nil {
			return nil, "", err
		}
		_, err = db.Exec(`DROP TABLE IF EXISTS ` + table + `;
			CREATE TABLE ` + table + ` (id BIGSERIAL PRIMARY KEY, serial_number TEXT NOT NULL UNIQUE, der BYTEA NOT NULL, created_at TEXT NOT NULL)`)
		return db, `INSERT INTO ` + table + ` (serial_number, der, created_at) VALUES ($1, $2, $3) RETURNING id`, err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "minimal.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, "", err
	}
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`CREATE TABLE IF NOT EXISTS ` + table + ` (id INTEGER PRIMARY KEY, serial_number TEXT NOT NULL UNIQUE, der BLOB NOT NULL, created_at TEXT NOT NULL)`)
	return db, `INSERT INTO ` + table + ` (serial_number, der, created_at) VALUES (?, ?, ?) RETURNING id`, err
}

// minimalJob is one certificate to store; done is closed once its row is
// committed (id set) or failed (err set).
type minimalJob struct {
	serial string
	der    []byte
	id     int64
	err    error
	done   chan struct{}
}

// minimalCommitter is the group commit: it takes the first waiting job and
// every other already waiting, inserts them in one transaction and
// commits once for all of them.
func minimalCommitter(db *sql.DB, insert string, jobs chan *minimalJob) {
	stmt, err := db.Prepare(insert)
	for j := range jobs {
		batch := []*minimalJob{j}
	more:
		for len(batch) < 256 {
			select {
			case j := <-jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		var tx *sql.Tx
		if err == nil {
			tx, err = db.Begin()
		}
		ferr := err
		if ferr == nil {
			st := tx.Stmt(stmt)
			for _, j := range batch {
				if ferr = st.QueryRow(j.serial, j.der, time.Now().UTC().Format(time.RFC3339Nano)).Scan(&j.id); ferr != nil {
					break
				}
			}
		}
		if tx != nil {
			if ferr == nil {
				ferr = tx.Commit()
			} else {
				tx.Rollback()
			}
		}
		for _, j := range batch {
			j.err = ferr
			close(j.done)
		}
	}
}

// dvPolicy is the CA/B Forum's domain-validated policy, 2.23.140.1.2.1.
var dvPolicy = x509.OID{}

func init() {
	if p, err := x509.OIDFromInts([]uint64{2, 23, 140, 1, 2, 1}); err == nil {
		dvPolicy = p
	}
}

// minimalLeaf is a DV leaf for name and pub signed by key with crypto/x509
// (which checks its own signature): a random serial, the DV policy and
// the locations a public leaf names. It returns the DER and the serial in
// hexadecimal.
func minimalLeaf(key crypto.Signer, issuer *x509.Certificate, name string, pub any) ([]byte, string, error) {
	sb := make([]byte, 16)
	rand.Read(sb)
	sb[0] &= 0x7f
	now := time.Now().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: new(big.Int).SetBytes(sb), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: now, NotAfter: now.Add(199 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, Policies: []x509.OID{dvPolicy},
		OCSPServer: []string{"http://127.0.0.1/ocsp"}, IssuingCertificateURL: []string{"http://127.0.0.1/ca.crt"},
		CRLDistributionPoints: []string{"http://127.0.0.1/ca.crl"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, pub, key)
	return der, hex.EncodeToString(sb), err
}

// minimalLint lints der as certorder lints its drafts: an error names
// the lints it breaks.
func minimalLint(der []byte, issuer *x509.Certificate) error {
	errs, _, err := ca.LintAsDrafted(der, issuer.PublicKey, ca.PurposeTLS)
	if err == nil && len(errs) > 0 {
		err = errors.New(strings.Join(errs, "; "))
	}
	if err != nil {
		return fmt.Errorf("lint: %w", err)
	}
	return nil
}

// minimalWarmLint lints one throwaway leaf, as certorder serve warms its
// linter at start: zlint's registries and the lint memo are made before
// the first order, not during it.
func minimalWarmLint(key crypto.Signer, issuer *x509.Certificate) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, _, err := minimalLeaf(key, issuer, "warm.example.com", k.Public())
	if err != nil {
		return err
	}
	return minimalLint(der, issuer)
}

func minimalHandler(key crypto.Signer, issuer *x509.Certificate, jobs chan<- *minimalJob, size int, lint bool) http.Handler {
	issuerPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issuer.Raw}))
	fail := func(w http.ResponseWriter, code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":"invalid","message":%q}]}`, msg)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusOK) // /healthz
			return
		}
		var in struct {
			Certificate struct {
				CommonName string `json:"common_name"`
				CSR        string `json:"csr"`
			} `json:"certificate"`
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || json.Unmarshal(body, &in) != nil {
			fail(w, http.StatusBadRequest, "bad JSON")
			return
		}
		blk, _ := pem.Decode([]byte(in.Certificate.CSR))
		if blk == nil {
			fail(w, http.StatusBadRequest, "no PEM CSR")
			return
		}
		csr, err := x509.ParseCertificateRequest(blk.Bytes)
		if err == nil {
			err = csr.CheckSignature()
		}
		if err != nil {
			fail(w, http.StatusBadRequest, "CSR: "+err.Error())
			return
		}
		der, serial, err := minimalLeaf(key, issuer, in.Certificate.CommonName, csr.PublicKey)
		if err != nil {
			fail(w, http.StatusBadRequest, "sign: "+err.Error())
			return
		}
		if lint {
			if err := minimalLint(der, issuer); err != nil {
				fail(w, http.StatusInternalServerError, err.Error())
				return
			}
		}
		j := &minimalJob{serial: serial, der: der, done: make(chan struct{})}
		jobs <- j
		<-j.done
		if j.err != nil {
			fail(w, http.StatusInternalServerError, "store: "+j.err.Error())
			return
		}
		out, _ := json.Marshal(map[string]any{"id": j.id, "certificate_id": j.id, "certificate_chain": []map[string]string{
			{"subject_common_name": in.Certificate.CommonName, "pem": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))},
			{"subject_common_name": issuer.Subject.CommonName, "pem": issuerPEM}}})
		for len(out) < size {
			out = append(out, ' ') // JSON allows trailing white space
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(http.StatusCreated)
		w.Write(out)
	})
}
