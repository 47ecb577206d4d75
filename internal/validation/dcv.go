package validation

import (
	"context"
	"io"
	"math/big"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
)

// dcvRandomValueLife: order random values are valid 30 days (spec §2.7.3).
const dcvRandomValueLife = 30 * 24 * time.Hour

// DCVCNAMETarget is where a dns-cname-token record points by default
// (_<random>.<name> CNAME <target>, or _dnsauth.<name> CNAME
// <random>.<target>). [infer]: CertCentral's is dcv.digicert.com; ours is
// configurable (--dcv-cname-target) and names no real host by default,
// since only the record itself is looked at.
const DCVCNAMETarget = "dcv.certorder.invalid"

// IsTokenMethod: m proves control with a random value looked up in DNS or
// over HTTP, not with an emailed link.
func IsTokenMethod(m string) bool {
	return m == "dns-txt-token" || m == "dns-cname-token" || m == "http-token"
}

// randomValue is 32 characters of base 36 (about 165 bits): at least the
// 112 bits the Baseline Requirements (3.2.2.4) want of a random value.
func randomValue(r io.Reader) (string, error) {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	max := big.NewInt(int64(len(alphabet)))
	var b strings.Builder
	for range 32 {
		n, err := randInt(r, max)
		if err != nil {
			return "", err
		}
		b.WriteByte(alphabet[n])
	}
	return b.String(), nil
}

// randInt draws uniformly below max by rejection.
func randInt(r io.Reader, max *big.Int) (int64, error) {
	var buf [1]byte
	limit := 256 - 256%max.Int64()
	for {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return 0, err
		}
		if int64(buf[0]) < limit {
			return int64(buf[0]) % max.Int64(), nil
		}
	}
}

// DomainRef is one domains[] entry of an X9 201 answer (seed 004).
type DomainRef struct {
	ID      int64
	Name    string // the account's domain (the registrable domain)
	DNSName string // the name on the order
	Status  string // validation status of the token: pending or active
}

// Locales accepted for DCV and notification emails (mail.Locales).
// [not found] in the spec: CertCentral's list; this is the spec's §7.3 guess.
var Locales = mail.Locales

// OrderDomains records the registrable domain of every name of the order
// in the account and describes them for the 201 answer: one order random
// value serves every domain (spec §2.7).
func (s *Service) OrderDomains(ctx context.Context, tx store.Tx, o *store.Order, validated bool) ([]DomainRef, error) {
	status := "pending"
	if validated || s.Sandbox {
		status = "active"
	}
	var out []DomainRef
	for _, n := range o.DNSNames {
		base, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimPrefix(n, "*."))
		if err != nil {
			base = n
		}
		d, err := tx.EnsureDomain(ctx, o.AccountID, base, o.CreatedAt)
		if err != nil {
			return nil, err
		}
		out = append(out, DomainRef{ID: d.ID, Name: d.Name, DNSName: n, Status: status})
	}
	return out, nil
}

// CNAMETarget is the verification_value of dns-cname-token.
func (s *Service) CNAMETarget() string {
	if s.DCV != nil {
		return s.DCV.Config().CNAMETarget
	}
	return DCVCNAMETarget
}
