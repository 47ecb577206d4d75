package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// TOTP (RFC 6238) as every authenticator app speaks it: HMAC-SHA1, 30
// second steps from the Unix epoch, six digits. A code of the step before
// or after is accepted too (a phone's clock drifts, a code is typed
// late), and each step once (UseTOTPStep).
const (
	TOTPPeriod  = 30
	TOTPDigits  = 6
	totpSeedLen = 20 // RFC 4226's recommended 160 bits
)

// TOTPStep is the step of t.
func TOTPStep(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// TOTPCode is the code of seed for step (RFC 4226's HOTP with the step as
// counter).
func TOTPCode(seed []byte, step int64) string {
	m := hmac.New(sha1.New, seed)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// MatchTOTP returns the step whose code code is, among the steps of now
// and its neighbours; ok is false when none. Spaces people type between
// the digits are ignored.
func MatchTOTP(seed []byte, code string, now time.Time) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != TOTPDigits {
		return 0, false
	}
	if _, err := strconv.Atoi(code); err != nil {
		return 0, false
	}
	base := TOTPStep(now)
	for _, s := range []int64{base - 1, base, base + 1} {
		if subtle.ConstantTimeCompare([]byte(TOTPCode(seed, s)), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

// TOTPKey is a seed as authenticator apps take it typed in: base32
// without padding.
func TOTPKey(seed []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(seed)
}

// TOTPURI is the otpauth:// address of a seed, which authenticator apps
// import (Google Authenticator's key URI format).
func TOTPURI(issuer, username string, seed []byte) string {
	label := url.PathEscape(issuer + ":" + username)
	q := url.Values{"secret": {TOTPKey(seed)}, "issuer": {issuer}, "algorithm": {"SHA1"},
		"digits": {strconv.Itoa(TOTPDigits)}, "period": {strconv.Itoa(TOTPPeriod)}}
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// seedContext binds a sealed seed to its user: a seed copied to another
// user's row does not open.
func seedContext(u *store.User) []byte {
	return fmt.Appendf(nil, "certorder totp seed\x00%d\x00%d", u.AccountID, u.ID)
}

func (s *Service) openSeed(u *store.User, c *store.Credential) ([]byte, error) {
	if s.Box == nil {
		return nil, errs.Internalf(errors.New("no console key"), "open totp seed of user %d", u.ID)
	}
	seed, err := s.Box.Open(c.TOTPSeed, seedContext(u))
	if err != nil {
		return nil, errs.Internalf(err, "open totp seed of user %d (is the data directory's console key the one it was sealed with?)", u.ID)
	}
	return seed, nil
}

// CheckSecondFactor completes a sign-in that SignIn passed for a user
// with TOTP: the code must be of the user's seed, of a step not used
// before. Attempts count with the password's, by the same name.
func (s *Service) CheckSecondFactor(ctx context.Context, u *store.User, code string, now time.Time) error {
	if err := s.claimAttempt(ctx, u.Username, now); err != nil {
		return err
	}
	c, err := s.Store.Credential(ctx, u.AccountID, u.ID)
	if err != nil {
		return errs.Internalf(err, "read credential of user %d", u.ID)
	}
	if c.TOTPEnabled {
		seed, err := s.openSeed(u, c)
		if err != nil {
			return err
		}
		step, ok := MatchTOTP(seed, code, now)
		if !ok {
			return BadCredentials()
		}
		var fresh bool
		if err := s.Store.InTx(ctx, func(tx store.Tx) (err error) { fresh, err = tx.UseTOTPStep(ctx, u.AccountID, u.ID, step); return err }); err != nil {
			return errs.Internalf(err, "use totp step")
		}
		if !fresh {
			return BadCredentials() // a code seen before: replayed, or shoulder-surfed
		}
	}
	return s.clearFailures(ctx, u.Username)
}

// StartTOTP makes a new seed for the actor's own sign-in and keeps it,
// sealed, until ConfirmTOTP proves an app holds it. It returns the seed
// to show once. A user whose TOTP is on turns it off first.
func (s *Service) StartTOTP(ctx context.Context, actor Actor) ([]byte, error) {
	if s.Box == nil {
		return nil, errs.New(errs.Invalid, "totp_unavailable", "This server has no console key, so it cannot keep TOTP seeds.")
	}
	seed := make([]byte, totpSeedLen)
	_, _ = rand.Read(seed)
	u := actor.User
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.Credential(ctx, u.AccountID, u.ID)
		if errors.Is(err, store.ErrNotFound) || err == nil && c.PasswordHash == "" {
			return errs.InvalidValue("password", "Set a password before turning on a second factor.")
		}
		if err != nil {
			return err
		}
		if c.TOTPEnabled {
			return errs.InvalidValue("code", "A second factor is on already; turn it off before enrolling another.")
		}
		c.TOTPSeed, c.UpdatedAt = s.Box.Seal(seed, seedContext(u)), s.now()
		return tx.PutCredential(ctx, c)
	})
	if err != nil {
		return nil, apiErr(err, "start totp")
	}
	return seed, nil
}

// ConfirmTOTP turns the started seed on once code proves an app holds it.
func (s *Service) ConfirmTOTP(ctx context.Context, actor Actor, code string, now time.Time) error {
	u := actor.User
	return apiErr(s.Store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.Credential(ctx, u.AccountID, u.ID)
		if errors.Is(err, store.ErrNotFound) || err == nil && len(c.TOTPSeed) == 0 {
			return errs.InvalidValue("code", "Start the enrolment again: no seed is waiting.")
		}
		if err != nil {
			return err
		}
		if c.TOTPEnabled {
			return nil
		}
		seed, err := s.openSeed(u, c)
		if err != nil {
			return err
		}
		step, ok := MatchTOTP(seed, code, now)
		if !ok {
			return errs.InvalidValue("code", "That code is not the app's current one; check the phone's clock and try the next code.")
		}
		c.TOTPEnabled, c.TOTPLastStep, c.UpdatedAt = true, step, s.now()
		if err := tx.PutCredential(ctx, c); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "user.totp_enabled", fmt.Sprintf("user:%d", u.ID), map[string]any{"username": u.Username})
	}), "confirm totp")
}

// TurnOffTOTP removes a user's second factor: their own, or, for an
// administrator, anyone's they may manage (a lost phone; the command line
// acts as one).
func (s *Service) TurnOffTOTP(ctx context.Context, actor Actor, userID int64) error {
	u, err := s.visibleUser(ctx, s.Store, actor, userID)
	if err != nil {
		return err
	}
	if u.ID != actor.User.ID {
		if actor.User.AccessRole != store.RoleAdministrator {
			return forbidden("Only administrators can turn off another user's second factor.")
		}
		if !Covers(actor, As(actor.Account, u, KeyRoleInherit)) {
			return beyondCaller()
		}
	}
	return apiErr(s.Store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.Credential(ctx, u.AccountID, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		was := c.TOTPEnabled
		c.TOTPSeed, c.TOTPEnabled, c.UpdatedAt = nil, false, s.now()
		if err := tx.PutCredential(ctx, c); err != nil {
			return err
		}
		if !was {
			return nil
		}
		return s.audit(ctx, tx, actor, "user.totp_disabled", fmt.Sprintf("user:%d", u.ID), map[string]any{"username": u.Username})
	}), "turn off totp")
}
