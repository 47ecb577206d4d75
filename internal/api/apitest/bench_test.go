package apitest

import (
	"crypto/elliptic"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/testenv"
)

// BenchmarkOrderIssue places immediate-issuance orders through the whole
// server (HTTP, validation, CAA, linting, signing, durable commit) from
// GOMAXPROCS×4 clients; `go test -bench OrderIssue -cpuprofile` shows where
// an order's time goes. The load command (`certorder bench`) gives the
// figures; this is for profiles.
func BenchmarkOrderIssue(b *testing.B) {
	for _, kt := range []ca.KeyType{ca.KeyP256, ca.KeyRSA2048} {
		b.Run(string(kt), func(b *testing.B) {
			srv := testenv.Start(b, testenv.Options{Sandbox: true, IssuerKeyType: kt})
			var bodies []string
			for i := 0; i < 64; i++ {
				m := baseBody(testenv.CSR(b, testenv.ECKey(b, elliptic.P256()), "example.com"))
				m["skip_approval"] = true
				j, _ := json.Marshal(m)
				bodies = append(bodies, string(j))
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			var n, failed atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					req, _ := http.NewRequest("POST", srv.URL+"/services/v2/order/certificate/ssl_securesite",
						strings.NewReader(bodies[i%int64(len(bodies))]))
					req.Header.Set("X-DC-DEVKEY", srv.AdminKey)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						failed.Add(1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						failed.Add(1)
					}
				}
			})
			b.StopTimer()
			if f := failed.Load(); f > 0 {
				b.Fatalf("%d of %d orders failed", f, n.Load())
			}
		})
	}
}
