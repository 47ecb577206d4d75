package compat_test

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestMirrorsCatchTypeMismatch shows that decoding into the mirrored types
// fails where the client's own decoder fails, and passes where it passes.
func TestMirrorsCatchTypeMismatch(t *testing.T) {
	tests := []struct {
		name, decoder, body string
		wantErr             bool
	}{
		{"go: number id", "sapcc.Order", `{"id":1,"certificate_id":2}`, false},
		{"go: string id", "sapcc.Order", `{"id":"1"}`, true},
		{"go: RFC 3339 request date", "sapcc.Order", `{"requests":[{"id":1,"date":"2026-01-02T03:04:05+00:00"}]}`, false},
		{"go: date-only where time.Time", "sapcc.OrganizationList", `{"organizations":[{"id":1,"validations":[{"validated_until":"2027-01-02"}]}]}`, true},
		{"go: string organization id", "marqeta.Organization", `{"id":"5"}`, true},
		{"go: dcv_invitations as objects", "sapcc.Domain", `{"id":1,"dcv":{"dcv_invitations":[{"invitation_id":1}]}}`, true},
		{"go: bool is_active as string", "venafi.GetOrganizationsResponse", `{"organizations":[{"id":1,"is_active":"1"}]}`, true},
		{"c#: numeric string into int", "kf.OrderResponse", `{"id":"12","certificate_id":3}`, false},
		{"c#: null into int", "kf.OrderResponse", `{"id":null}`, true},
		{"c#: null into int?", "kf.OrderResponse", `{"id":1,"certificate_id":null}`, false},
		{"c#: number into string", "kf.OrderResponse", `{"id":1,"requests":[{"id":7,"status":"pending"}]}`, false},
		{"c#: object into string", "kf.OrderResponse", `{"id":1,"dcv_random_value":{"a":1}}`, true},
		{"c#: null into DateTime", "kf.RevokeCertificateResponse", `{"id":1,"date":null}`, true},
		{"c#: ISO with offset into DateTime", "kf.RevokeCertificateResponse", `{"id":1,"date":"2026-01-02T03:04:05+00:00"}`, false},
		{"c#: \"1\" into bool", "kf.ListDomainsResponse", `{"domains":[{"id":1,"is_active":"1","date_created":"2026-01-02T03:04:05+00:00"}]}`, true},
		{"python: organization id as string", "dc.Domains", `{"domains":[{"name":"a","organization":{"id":"1"}}]}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := json.NewDecoder(bytes.NewReader([]byte(tc.body))).Decode(decoders[tc.decoder]())
			if (err != nil) != tc.wantErr {
				t.Fatalf("decode %s into %s: err = %v, want error %v", tc.body, tc.decoder, err, tc.wantErr)
			}
		})
	}
}
