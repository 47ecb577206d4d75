package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// Console passwords are hashed with argon2id at OWASP's minimum
// parameters (19 MiB, two passes, one lane): about 30 ms of one core, so
// that a stolen hash costs a guesser as much, and a sign-in stays cheap.
// The parameters travel in each hash (a PHC string), so raising them
// later leaves old hashes readable.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Argon2id is a hash's cost: passes and memory.
type Argon2id struct {
	Time      uint32
	MemoryKiB uint32
}

// PasswordCost is what new hashes cost. Only tests lower it: a suite that
// signs hundreds of users in under the race detector (a second a hash)
// would otherwise spend minutes hashing. A hash keeps the cost it was made
// with, so verification is unaffected.
var PasswordCost = Argon2id{Time: argonTime, MemoryKiB: argonMemory}

// Password lengths: long enough to resist guessing at argon2id's cost,
// short enough that hashing one is bounded work.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// hashSlots bounds the hashes computed at once: each takes argonMemory,
// and a burst of sign-ins must not take the machine's memory.
var hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

func argonKey(password string, salt []byte, t, m uint32, p uint8) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(password), salt, t, m, p, argonKeyLen)
}

var b64 = base64.RawStdEncoding

// HashPassword returns the PHC string of password:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	c := PasswordCost
	key := argonKey(password, salt, c.Time, c.MemoryKiB, argonThreads)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.MemoryKiB, c.Time, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword reports whether password matches the PHC string; a
// malformed string matches nothing.
func VerifyPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 || t > 16 {
		return false
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	hashSlots <- struct{}{}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	<-hashSlots
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the name is unknown or has no
// password, so that such a sign-in takes as long as a wrong password and
// does not tell which names exist.
var dummyHash = sync.OnceValue(func() string { return HashPassword("certorder: no such user") })

// CheckPasswordPolicy refuses a password a guesser would try early: too
// short, the user's own name or address. Length is counted in characters.
func CheckPasswordPolicy(u *store.User, password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return errs.InvalidValue("password", "A password has at least %d characters.", MinPasswordLength)
	case n > MaxPasswordLength:
		return errs.InvalidValue("password", "A password has at most %d characters.", MaxPasswordLength)
	}
	p := strings.ToLower(strings.TrimSpace(password))
	for _, own := range []string{u.Username, u.Email, u.FirstName + u.LastName, u.FirstName + " " + u.LastName} {
		if own = strings.ToLower(strings.TrimSpace(own)); own != "" && p == own {
			return errs.InvalidValue("password", "A password may not be your own name or address.")
		}
	}
	return nil
}

// Sign-in throttling: a name's first FreeSignInFailures failures in a row
// cost nothing; past them every attempt waits after the last failure,
// one second doubling per further failure up to MaxSignInDelay. An
// attempt made while it must wait is refused unchecked, so a guesser gets
// one guess per delay however fast they send. Failures are forgotten a
// day after the last one, or at the name's next successful sign-in.
const (
	FreeSignInFailures = 10
	MaxSignInDelay     = 15 * time.Minute
	SignInMemory       = 24 * time.Hour
)

// SignInDelay is how long after its last failure a name with n failures
// in a row waits before its next attempt is checked.
func SignInDelay(n int) time.Duration {
	if n < FreeSignInFailures {
		return 0
	}
	d := time.Second << min(n-FreeSignInFailures, 20)
	return min(d, MaxSignInDelay)
}

// BadCredentials is the answer to every failed sign-in, whatever failed:
// an unknown name, a user who may not sign in, a wrong password or code.
func BadCredentials() error {
	return errs.New(errs.Unauthorized, "access_denied|invalid_credentials", "The username, password or code is wrong.")
}

// throttled refuses an attempt made before the name's delay has passed.
func throttled(wait time.Duration) error {
	e := errs.New(errs.RateLimited, "request_limit_exceeded",
		"Too many failed sign-ins for this name. Try again in %d seconds.", int((wait+time.Second-1)/time.Second))
	e.RetryAfter = wait
	return e
}

// claimAttempts bounds how often an attempt reads a name's failures again
// when other attempts for the name keep counting first.
const claimAttempts = 20

// claimAttempt lets an attempt for a name through, or refuses it while the
// name must wait. An attempt let through is counted as a failure before
// it is checked (a success clears the name's failures): attempts sent at
// once are each counted, one after another, and no more are let through
// than sent one by one would be.
func (s *Service) claimAttempt(ctx context.Context, username string, now time.Time) error {
	for range claimAttempts {
		n, last, err := s.Store.SignInFailures(ctx, username)
		if err != nil {
			return errs.Internalf(err, "read sign-in failures")
		}
		if wait := last.Add(SignInDelay(n)).Sub(now); n >= FreeSignInFailures && wait > 0 {
			return throttled(wait)
		}
		var counted bool
		err = s.Store.InTx(ctx, func(tx store.Tx) (err error) {
			counted, err = tx.CountSignInAttempt(ctx, username, n, last, now, now.Add(-SignInMemory))
			return err
		})
		if err != nil {
			return errs.Internalf(err, "count sign-in attempt")
		}
		if counted {
			return nil
		}
		// Another attempt for the name was counted since: read again.
	}
	return throttled(time.Second)
}

// SignIn checks a username and password at now (the real clock: the
// throttle keeps wall time, whatever the sandbox's business clock says).
// It returns the user and their credential, whose TOTPEnabled says
// whether a code must follow.
func (s *Service) SignIn(ctx context.Context, username, password string, now time.Time) (*store.User, *store.Credential, error) {
	username = strings.TrimSpace(username)
	// A name no user can have is refused before the throttle keeps a row
	// for it: whoever is signed out would otherwise fill the store with
	// names as long as a request. (It has no user to protect, and the
	// format of usernames is no secret.)
	if !validUsername(username) || password == "" || len(password) > 4*MaxPasswordLength {
		return nil, nil, BadCredentials()
	}
	if err := s.claimAttempt(ctx, username, now); err != nil {
		return nil, nil, err
	}
	u, err := s.Store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, errs.Internalf(err, "read user")
	}
	var cred *store.Credential
	if err == nil && u.Status == store.UserActive && !u.APIOnly {
		cred, err = s.Store.Credential(ctx, u.AccountID, u.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, errs.Internalf(err, "read credential")
		}
	}
	if cred == nil || cred.PasswordHash == "" {
		VerifyPassword(dummyHash(), password)
		return nil, nil, BadCredentials()
	}
	if !VerifyPassword(cred.PasswordHash, password) {
		return nil, nil, BadCredentials()
	}
	// With a second factor to follow, the attempt stays counted until a
	// code completes it: the password alone is no success, or whoever
	// knows it could clear the failures of the codes they guess.
	if !cred.TOTPEnabled {
		if err := s.clearFailures(ctx, username); err != nil {
			return nil, nil, err
		}
	}
	return u, cred, nil
}

func (s *Service) clearFailures(ctx context.Context, username string) error {
	if err := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.ClearSignInFailures(ctx, username) }); err != nil {
		return errs.Internalf(err, "clear sign-in failures")
	}
	return nil
}

// MaySetPassword: a user sets their own password, an administrator that
// of anyone they may manage. Mailing a user a password link is setting
// their password (it sets the password of whoever reads the address, and
// a manager may change a user's address with PUT /user/{id}), so the
// console asks this before it mails one.
func MaySetPassword(actor Actor, u *store.User) error {
	if u.ID == actor.User.ID {
		return nil
	}
	if actor.User.AccessRole != store.RoleAdministrator {
		return forbidden("Only administrators can set another user's password.")
	}
	if !Covers(actor, As(actor.Account, u, KeyRoleInherit)) {
		return beyondCaller()
	}
	return nil
}

// SetPassword sets a user's console password and ends their other
// sessions (all but keep, the session it is set from; 0 ends all). A user
// sets their own; an administrator anyone's they may manage (the command
// line acts as one). A service user has no password: it signs in with its
// API key only.
func (s *Service) SetPassword(ctx context.Context, actor Actor, userID int64, password string, keep int64) error {
	u, err := s.visibleUser(ctx, s.Store, actor, userID)
	if err != nil {
		return err
	}
	if err := MaySetPassword(actor, u); err != nil {
		return err
	}
	if u.APIOnly {
		return errs.InvalidValue("user_id", "User %d is a service user, which signs in with its API key only.", u.ID)
	}
	if err := CheckPasswordPolicy(u, password); err != nil {
		return err
	}
	hash := HashPassword(password)
	return apiErr(s.Store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.Credential(ctx, u.AccountID, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			c, err = &store.Credential{UserID: u.ID, AccountID: u.AccountID}, nil
		}
		if err != nil {
			return err
		}
		c.PasswordHash, c.UpdatedAt = hash, s.now()
		if err := tx.PutCredential(ctx, c); err != nil {
			return err
		}
		if err := tx.EndUserSessions(ctx, u.AccountID, u.ID, keep, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "user.password_set", fmt.Sprintf("user:%d", u.ID), map[string]any{"username": u.Username})
	}), "set password")
}
