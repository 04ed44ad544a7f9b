package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// result is what one side of a workload measured.
type result struct {
	label   string
	records int64 // input records processed
	words   int64 // for W2: words counted (= outputs)
	elapsed time.Duration
	// first is when the first output was seen (or zero): a rough split of
	// the elapsed time into start-up (topic set-up, group join, restore)
	// and processing.
	first time.Duration
	cpu   time.Duration // user+sys of the whole process during the side
	// brokerCPU is the broker process's user+sys during the side, under
	// -broker process (else 0).
	brokerCPU time.Duration
	maxRSS    int64 // getrusage ru_maxrss after the side: process-wide, monotonic
	peakRSS   int64 // max of /proc/self/status VmRSS sampled every 10ms during the side
	// peakHeap is the max of the Go heap's objects sampled with peakRSS.
	peakHeap int64
	// startRSS is VmRSS as the side starts, after a GC that returned
	// freed memory: what earlier sides left behind.
	startRSS int64
	// took, for a restore, is the restore's own duration as the runtime
	// logs it; the ratio of W6 uses it.
	took time.Duration
	note string
}

// primaryRate is the rate a ratio compares: records/s over took when it is
// set, else over elapsed.
func (r result) primaryRate() float64 {
	if r.took > 0 {
		return float64(r.records) / r.took.Seconds()
	}
	return r.rate()
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.records) / r.elapsed.Seconds()
}

func (r result) wordRate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.words) / r.elapsed.Seconds()
}

// cpuPerMillion is CPU seconds per million input records.
func (r result) cpuPerMillion() float64 { return perMillion(r.cpu, r.records) }

func perMillion(d time.Duration, records int64) float64 {
	if records == 0 {
		return 0
	}
	return d.Seconds() / float64(records) * 1e6
}

// usage is the process's resource usage so far.
type usage struct {
	cpu    time.Duration
	maxRSS int64
}

func getUsage() usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}
	}
	// ru_maxrss is in kilobytes on Linux.
	return usage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), maxRSS: int64(ru.Maxrss) * 1024}
}

// rssSampler records the largest VmRSS of the process seen while it runs,
// and the largest Go heap (objects, live or not yet swept): the difference
// is mostly memory outside Go's heap, such as Pebble's memtables and block
// cache.
type rssSampler struct {
	peak     atomic.Int64
	heapPeak atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
	sample1  []metrics.Sample
}

func startRSS() *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), sample1: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
	s.sample()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	if v, ok := readVmRSS(); ok && v > s.peak.Load() {
		s.peak.Store(v)
	}
	metrics.Read(s.sample1)
	if v := s.sample1[0].Value; v.Kind() == metrics.KindUint64 && int64(v.Uint64()) > s.heapPeak.Load() {
		s.heapPeak.Store(int64(v.Uint64()))
	}
}

// Stop ends the sampling and returns the peak in bytes, 0 if /proc is not
// there.
func (s *rssSampler) Stop() int64 {
	s.sample()
	close(s.stop)
	s.wg.Wait()
	return s.peak.Load()
}

func readVmRSS() (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "VmRSS:") {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(line, "VmRSS:"))
		if len(f) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}

// outcome is what a side's run function reports: when the measured work
// was done, when its first output appeared, and how to tear it down (not
// measured).
type outcome struct {
	end   time.Time
	first time.Time
	words int64
	took  time.Duration
	note  string
	// verify, if set, checks the side's result after the measurement,
	// unmeasured; it may add to the note.
	verify func(ctx context.Context) (string, error)
	stop   func() error
}

// measure runs one side: it settles the heap, snapshots getrusage, samples
// VmRSS, optionally CPU-profiles, and runs fn, whose teardown is left out
// of the figures.
func (b *bench) measure(ctx context.Context, workload, label string, records int64, fn func(ctx context.Context) (outcome, error)) (result, error) {
	runtime.GC()
	debug.FreeOSMemory()
	trimC()
	var prof *os.File
	if b.cfg.cpuProfile != "" {
		name := fmt.Sprintf("%s-%s-%s.pprof", b.cfg.cpuProfile, workload, label)
		f, err := os.Create(name)
		if err != nil {
			return result{}, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return result{}, fmt.Errorf("cpu profile: %w", err)
		}
		prof = f
	}
	start, _ := readVmRSS()
	sampler := startRSS()
	u0 := getUsage()
	b0, brokerOK := b.brokerCPU()
	t0 := time.Now()

	sctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	out, err := fn(sctx)
	cancel()

	u1 := getUsage()
	b1, brokerOK1 := b.brokerCPU()
	peak := sampler.Stop()
	peakHeap := sampler.heapPeak.Load()
	if b.cfg.memProfile != "" {
		if err := writeHeapProfile(fmt.Sprintf("%s-%s-%s.pprof", b.cfg.memProfile, workload, label)); err != nil {
			return result{}, err
		}
	}
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	if err == nil && out.verify != nil {
		vctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
		var more string
		more, err = out.verify(vctx)
		cancel()
		if more != "" {
			out.note = strings.TrimPrefix(out.note+"; "+more, "; ")
		}
	}
	var stopErr error
	if out.stop != nil {
		stopErr = out.stop()
	}
	if err != nil {
		return result{}, fmt.Errorf("%s %s: %w", workload, label, err)
	}
	if stopErr != nil {
		return result{}, fmt.Errorf("%s %s: teardown: %w", workload, label, stopErr)
	}
	r := result{
		label:    label,
		records:  records,
		words:    out.words,
		elapsed:  out.end.Sub(t0),
		cpu:      u1.cpu - u0.cpu,
		maxRSS:   u1.maxRSS,
		peakRSS:  peak,
		peakHeap: peakHeap,
		startRSS: start,
		took:     out.took,
		note:     out.note,
	}
	if !out.first.IsZero() {
		r.first = out.first.Sub(t0)
	}
	if brokerOK && brokerOK1 {
		r.brokerCPU = b1 - b0
	}
	return r, nil
}

// brokerCPU is the CPU time the broker process has used, under -broker
// process.
func (b *bench) brokerCPU() (time.Duration, bool) {
	if b.brokerPid == 0 {
		return 0, false
	}
	return procCPU(b.brokerPid)
}

// writeHeapProfile writes the heap profile of the objects live at the last
// garbage collection to name.
func writeHeapProfile(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}
