package ca

import (
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3/lint"
)

func TestZZLintCost(t *testing.T) {
	if os.Getenv("LINTCOST") == "" {
		t.Skip()
	}
	h := sharedHierarchy(t, KeyP256, KeyP256)
	req := leafRequest(t, h, ProfileDVTLS, testKey(t, "p256"), "")
	req.Subject = Subject{CommonName: "www.example.com"}
	d, err := h.Draft(req)
	if err != nil {
		t.Fatal(err)
	}
	regs, _ := lintRegistries()
	reg := regs.leaves[PurposeTLS]
	set := lintSetOf(reg)
	c, _ := zx509.ParseCertificate(d.lint)
	type cost struct {
		name string
		ns   float64
		st   lint.LintStatus
	}
	var costs []cost
	total := 0.0
	const n = 2000
	for _, l := range set.lints {
		st := set.run(l, c).Status
		start := time.Now()
		for range n {
			set.run(l, c)
		}
		ns := float64(time.Since(start).Nanoseconds()) / n
		costs = append(costs, cost{l.Name, ns, st})
		total += ns
	}
	start := time.Now()
	for range 200 {
		zx509.ParseCertificate(d.lint)
	}
	parse := float64(time.Since(start).Nanoseconds()) / 200
	sort.Slice(costs, func(i, j int) bool { return costs[i].ns > costs[j].ns })
	byStatus := map[lint.LintStatus][2]float64{}
	for _, c := range costs {
		v := byStatus[c.st]
		v[0]++
		v[1] += c.ns
		byStatus[c.st] = v
	}
	fmt.Printf("lints %d total %.0f ns; parse %.0f ns\n", len(costs), total, parse)
	for st, v := range byStatus {
		fmt.Printf("status %s: %d lints %.0f ns\n", st, int(v[0]), v[1])
	}
	for _, c := range costs[:40] {
		fmt.Printf("%8.0f %s %s\n", c.ns, c.st, c.name)
	}
}
