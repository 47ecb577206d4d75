package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

// probeResult is one stall probe: GOMAXPROCS goroutines, each on its own
// thread, spin reading the clock while nothing else of the bench runs,
// and add up the gaps in which their thread did not run. On an idle
// machine that is close to nothing; what it loses is taken by other
// processes (other people's test runs) or by the host (a virtual CPU
// descheduled), and a run whose probes lost much is a noisy run, whatever
// its rows say.
type probeResult struct {
	when    string
	length  time.Duration // as asked
	cpus    int
	elapsed time.Duration // wall time of each goroutine's loop
	lost    time.Duration // gaps added up, over all goroutines
	gaps    int
	longest time.Duration
	load    string // /proc/loadavg's 1, 5 and 15 minute averages
}

// probeGap: a clock read that follows the previous one by more than this
// saw its thread taken away. Scheduler time slices of a busy machine are
// a few milliseconds.
const probeGap = time.Millisecond

// lostShare is the lost time as a share of the probe's CPU time.
func (p probeResult) lostShare() float64 {
	if p.elapsed <= 0 || p.cpus == 0 {
		return 0
	}
	return p.lost.Seconds() / (float64(p.cpus) * p.elapsed.Seconds())
}

func (p probeResult) String() string {
	s := fmt.Sprintf("stall probe %s: busy loop on %d CPUs for %v lost %.1f%% in %d gaps > %v, longest %s ms",
		p.when, p.cpus, p.length, 100*p.lostShare(), p.gaps, probeGap, ms(p.longest))
	if p.load != "" {
		s += "; load average " + p.load
	}
	return s
}

// busyProbe runs the probe for d, or until ctx ends.
func busyProbe(ctx context.Context, when string, d time.Duration) probeResult {
	n := runtime.GOMAXPROCS(0)
	type one struct {
		lost, longest, elapsed time.Duration
		gaps                   int
	}
	res := make([]one, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r := &res[i]
			start := time.Now()
			end, last := start.Add(d), start
			for i := 0; last.Before(end); i++ {
				now := time.Now()
				if gap := now.Sub(last); gap > probeGap {
					r.gaps++
					r.lost += gap
					r.longest = max(r.longest, gap)
				}
				last = now
				if i%4096 == 0 && ctx.Err() != nil {
					break
				}
			}
			r.elapsed = last.Sub(start)
		}()
	}
	wg.Wait()
	p := probeResult{when: when, length: d, cpus: n, load: loadAverage()}
	for _, r := range res {
		p.lost += r.lost
		p.gaps += r.gaps
		p.longest = max(p.longest, r.longest)
		p.elapsed = max(p.elapsed, r.elapsed)
	}
	return p
}

// loadAverage is the first three fields of /proc/loadavg, "" elsewhere.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
