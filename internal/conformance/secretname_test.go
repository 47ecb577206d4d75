package conformance

import "testing"

// TestSecretName: the names clients give credentials, in any spelling,
// are redacted; the order fields that merely contain a similar word are
// kept, as the report needs them.
func TestSecretName(t *testing.T) {
	for name, secret := range map[string]bool{
		"password": true, "current_password": true, "passphrase": true, "client_secret": true, "token": true,
		"access_token": true, "api_key": true, "api-key": true, "X-API-Key": true, "apiKey": true, "X-DC-DEVKEY": true,
		"private_key": true, "privateKey": true, "Authorization": true, "auth": true, "credentials": true, "key": true, "cvv": true,
		"common_name": false, "csr": false, "key_usages": false, "organization": false, "author": false, "limit": false,
		"dns_names": false, "signature_hash": false, "product_name_id": false, "authority": false,
	} {
		if got := secretName(name); got != secret {
			t.Errorf("secretName(%q) = %v, want %v", name, got, secret)
		}
	}
}
