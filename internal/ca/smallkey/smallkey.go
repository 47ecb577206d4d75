// Package smallkey computes the tables that let certorder skip the walk
// of zlint's e_ecdsa_small_private_key for a key the walk cannot flag:
// per curve, the low 32 bits of the X coordinate of d*G for every d in
// [1, Max], sorted. Package ca embeds them (go generate writes them with
// ./gentable) and its tests recompute them whole.
package smallkey

import (
	"crypto/elliptic"
	"encoding/binary"
	"math/big"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Bits is the lint's default Bits, and Max = 2^Bits the largest private
// scalar the tables cover.
const (
	Bits = 16
	Max  = 1 << Bits
)

// Curves are the curves with a table: those certorder accepts for a key
// (subscriber keys in ca.CheckKey, CA keys in ca's keyTypeOf).
var Curves = []elliptic.Curve{elliptic.P256(), elliptic.P384()}

// File is the name of curve's table file in package ca.
func File(curve elliptic.Curve) string {
	return "smallkey-" + strings.ToLower(strings.ReplaceAll(curve.Params().Name, "-", "")) + ".bin"
}

// Low32 is the slice of an X coordinate a table keeps.
func Low32(x *big.Int) uint32 {
	return uint32(x.Uint64())
}

// Table is curve's table as its file holds it: Max big-endian uint32,
// ascending (two d may share a slice; both entries stay). It walks
// G, 2G, ..., Max*G by the curve's own addition, in one stretch per CPU,
// each starting from the curve's ScalarBaseMult.
func Table(curve elliptic.Curve) []byte {
	p := curve.Params()
	xs := make([]uint32, Max)
	stretches := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for s := range stretches {
		first, last := 1+s*Max/stretches, (s+1)*Max/stretches
		wg.Go(func() {
			x, y := curve.ScalarBaseMult(big.NewInt(int64(first)).Bytes())
			for d := first; d <= last; d++ {
				xs[d-1] = Low32(x)
				if d < last {
					x, y = curve.Add(x, y, p.Gx, p.Gy)
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(xs)
	out := make([]byte, 0, 4*Max)
	for _, v := range xs {
		out = binary.BigEndian.AppendUint32(out, v)
	}
	return out
}

// Has reports whether table (as Table makes it) holds v.
func Has(table string, v uint32) bool {
	lo, hi := 0, len(table)/4
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if entry(table, mid) < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo < len(table)/4 && entry(table, lo) == v
}

func entry(table string, i int) uint32 {
	b := table[4*i : 4*i+4]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
