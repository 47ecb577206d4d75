package apitest

import (
	"crypto/elliptic"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

// requestDetail is the part of GET /request/{id} these tests read.
type requestDetail struct {
	Status   string `json:"status"`
	Reviewer *struct {
		ID int64 `json:"id"`
	} `json:"reviewer"`
	Processor *struct {
		ID int64 `json:"id"`
	} `json:"processor"`
	Order struct {
		Status      string `json:"status"`
		Certificate struct {
			KeySize        int `json:"key_size"`
			ServerPlatform *struct {
				ID   int    `json:"id"`
				Name string `json:"name"`
			} `json:"server_platform"`
		} `json:"certificate"`
	} `json:"order"`
}

func getRequest(t *testing.T, srv *testenv.Server, id int64) requestDetail {
	t.Helper()
	status, _, body := srv.Do("GET", "/services/v2/request/"+itoa(id), "")
	if status != http.StatusOK {
		t.Fatalf("GET request %d: %d %s", id, status, clip(body))
	}
	var r requestDetail
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("request body: %v: %s", err, clip(body))
	}
	return r
}

// TestRequestStatusMoves: a one-step request is pending; it may be approved
// or rejected, never sent back to submitted, and a decided request stays
// decided. Every refusal leaves the request as it was.
func TestRequestStatusMoves(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P384()), "ignored")
	place := func(t *testing.T) int64 {
		m := baseBody(csr)
		certOf(m)["server_platform"] = map[string]any{"id": 2}
		got := createOK(t, srv, "ssl_securesite", mustJSON(t, m))
		got.requirePending(t)
		return got.Requests[0].ID
	}
	put := func(id int64, status string) (int, http.Header, []byte) {
		return srv.Do("PUT", "/services/v2/request/"+itoa(id)+"/status", `{"status":"`+status+`"}`)
	}

	id := place(t)
	r := getRequest(t, srv, id)
	if r.Order.Certificate.KeySize != 384 {
		t.Errorf("key_size = %d, want 384 from the CSR", r.Order.Certificate.KeySize)
	}
	if p := r.Order.Certificate.ServerPlatform; p == nil || p.ID != 2 || p.Name == "" {
		t.Errorf("server_platform = %+v, want id 2 with its name", p)
	}

	cases := []struct {
		name, from, to string
		status         int
		code           string
	}{
		{"pending to submitted", "pending", "submitted", http.StatusBadRequest, "invalid_request_status"},
		{"pending to pending is a no-op", "pending", "pending", http.StatusNoContent, ""},
		{"unknown status", "pending", "done", http.StatusBadRequest, "invalid_value:status"},
		{"approve", "pending", "approved", http.StatusNoContent, ""},
		{"approved to approved is a no-op", "approved", "approved", http.StatusNoContent, ""},
		{"approved to rejected", "approved", "rejected", http.StatusBadRequest, "invalid_request_status"},
		{"approved to pending", "approved", "pending", http.StatusBadRequest, "invalid_request_status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := getRequest(t, srv, id).Status; got != tc.from {
				t.Fatalf("request is %s before the call, want %s", got, tc.from)
			}
			status, hdr, body := put(id, tc.to)
			if tc.code != "" {
				requireErrors(t, status, hdr, body, tc.status, tc.code)
			} else if status != tc.status {
				t.Fatalf("status = %d, want %d: %s", status, tc.status, clip(body))
			}
			want := tc.from
			if tc.code == "" {
				want = tc.to
			}
			if got := getRequest(t, srv, id).Status; got != want {
				t.Errorf("request is %s after the call, want %s", got, want)
			}
		})
	}
	if got := getRequest(t, srv, id).Order.Status; got != "issued" {
		t.Errorf("order after approval is %s, want issued (sandbox)", got)
	}

	t.Run("reject", func(t *testing.T) {
		id := place(t)
		if status, _, body := put(id, "rejected"); status != http.StatusNoContent {
			t.Fatalf("reject: %d %s", status, clip(body))
		}
		r := getRequest(t, srv, id)
		if r.Status != "rejected" || r.Order.Status != "rejected" {
			t.Errorf("after reject: request %s, order %s; want rejected, rejected", r.Status, r.Order.Status)
		}
		status, hdr, body := put(id, "approved")
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_request_status")
	})
}
