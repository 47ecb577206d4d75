package account

import (
	"crypto/sha256"
	"encoding/base32"
	"io"

	"github.com/certorder/certorder/internal/store"
)

// Actor is the authenticated caller: the account, the user and the API key
// the request came with. Every rule that depends on who asks takes one.
type Actor struct {
	Account *store.Account
	User    *store.User
	Key     *store.APIKey
}

// SystemActor is the administrator the command line acts as: user id 0,
// an unrestricted key.
func SystemActor(acct *store.Account) Actor {
	return Actor{Account: acct, User: &store.User{AccountID: acct.ID, AccessRole: store.RoleAdministrator, Status: store.UserActive},
		Key: &store.APIKey{AccountID: acct.ID}}
}

// HashKey is how API keys are stored: the SHA-256 of the key as sent
// (api.HashKey is this function).
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// NewKey is 256 random bits in upper-case base32, like the bootstrap key.
func NewKey(r io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b), nil
}
