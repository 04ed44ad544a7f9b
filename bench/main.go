// Command bench measures Samsa against hand-written franz-go programs doing
// the same work, on one in-process kfake broker and the same pre-produced
// input records:
//
//	W1  stateless Filter + MapValues + To, against a consume → filter/map →
//	    produce loop with the same at-least-once commits;
//	W2  word count over -w2-keys distinct words (FlatMapValues → GroupBy →
//	    Count in Pebble with a changelog → To), against a loop counting in a
//	    Go map and producing every new count; Samsa runs it twice, with a
//	    10 MiB cache in front of the store (Kafka Streams' default: the
//	    outputs are the counts as of each commit) and without one (every
//	    update produced, as the loop does);
//	W2M the same over -w2m-words words with -w2m-keys distinct ones (1.6M
//	    and 1M by default), cached and uncached, and uncached with a 30s
//	    commit interval, whose peak RSS shows what the store's uncommitted
//	    writes hold;
//	W6  restoring a store from a changelog of -w6-records records (1M by
//	    default, half a second or so of restore: at 200k, a restore of a
//	    tenth of a second, its fixed costs, the restore consumer's start and
//	    the last table's write, sync and ingest, weigh a fifth of it),
//	    against a consumer that reads the changelog partition and digests
//	    every key and value.
//
// With -eos it also compares W2 under exactly-once and at-least-once at
// commit intervals of 100ms and 1s.
//
// Every side's result is checked after it is measured, outside the timing:
// each output topic is read back and must hold exactly what the input
// makes (every count, every record), and a restored store must hold every
// key with its value. After each side, its topics and its app's internal
// topics are deleted, found by listing the broker's topics afresh, and the
// run fails if one is left.
//
// With -broker process the broker runs in a copy of the program, so that
// each side's peak RSS and CPU are its own rather than shared with the
// broker's topics.
//
//	go run ./bench [-records 200000] [-w6-records 1000000] [-only w1,w2,w2m,w6] [-eos] [-rounds 3] [-broker inprocess|process] [-cpuprofile prefix] [-memprofile prefix]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-go/samsa/kafkatest"
)

// config is the command line.
type config struct {
	records    int
	w6Records  int
	w2Keys     int
	w2mWords   int
	w2mKeys    int
	only       []string
	eos        bool
	commit     time.Duration
	partitions int32
	timeout    time.Duration
	rounds     int
	cpuProfile string
	memProfile string
	// brokerProc runs the broker in a process of its own.
	brokerProc bool
	// compression is the codec of every producer the bench runs: the
	// inputs', the baselines' and the apps'.
	compression string
	codec       kgo.CompressionCodec
}

var workloads = []string{"w1", "w2", "w2m", "w6"}

var codecs = map[string]kgo.CompressionCodec{
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
	"gzip":   kgo.GzipCompression(),
	"none":   kgo.NoCompression(),
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.IntVar(&cfg.records, "records", 200000, "input records per workload but W6")
	fs.IntVar(&cfg.w6Records, "w6-records", 1000000, "changelog records W6 restores")
	fs.IntVar(&cfg.w2Keys, "w2-keys", 10000, "distinct words of W2")
	fs.IntVar(&cfg.w2mWords, "w2m-words", 1600000, "words of W2M")
	fs.IntVar(&cfg.w2mKeys, "w2m-keys", 1000000, "distinct words of W2M")
	only := fs.String("only", strings.Join(workloads, ","), "comma-separated workloads to run: w1, w2, w2m, w6")
	fs.BoolVar(&cfg.eos, "eos", false, "also compare W2 under exactly-once and at-least-once at commit intervals 100ms and 1s")
	fs.DurationVar(&cfg.commit, "commit-interval", 100*time.Millisecond, "commit interval of the Samsa apps and the baselines")
	partitions := fs.Int("partitions", 4, "partitions of the W1/W2 input and output topics")
	fs.DurationVar(&cfg.timeout, "timeout", 3*time.Minute, "limit on each measured side")
	fs.IntVar(&cfg.rounds, "rounds", 3, "runs of each side, alternating which goes first; the summary compares the runs of median rate")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of each measured run to `prefix`-<workload>-<side>-<round>.pprof")
	broker := fs.String("broker", "inprocess", "where the broker runs: inprocess, sharing this process's CPU and memory figures with the sides, or process, in a copy of this program, so that RSS and CPU are each side's own")
	fs.StringVar(&cfg.compression, "compression", "snappy", "codec of every producer, the baselines' and the apps' alike: snappy (franz-go's default, which the apps keep unless KgoOpts sets one), lz4, zstd, gzip or none")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write a heap profile of each measured run, taken when its work is done, to `prefix`-<workload>-<side>-<round>.pprof")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	switch *broker {
	case "inprocess":
	case "process":
		cfg.brokerProc = true
	default:
		return config{}, fmt.Errorf("-broker %q: want inprocess or process", *broker)
	}
	var ok bool
	if cfg.codec, ok = codecs[cfg.compression]; !ok {
		return config{}, fmt.Errorf("-compression %q: want snappy, lz4, zstd, gzip or none", cfg.compression)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.records < 1 {
		return config{}, fmt.Errorf("-records %d: need at least 1", cfg.records)
	}
	if cfg.w6Records < 1 {
		return config{}, fmt.Errorf("-w6-records %d: need at least 1", cfg.w6Records)
	}
	if cfg.w2Keys < 1 || cfg.w2Keys > maxWordKeys || cfg.w2mKeys < 1 || cfg.w2mKeys > maxWordKeys {
		return config{}, fmt.Errorf("-w2-keys %d, -w2m-keys %d: need 1 to %d", cfg.w2Keys, cfg.w2mKeys, maxWordKeys)
	}
	if cfg.w2mWords < cfg.w2mKeys {
		return config{}, fmt.Errorf("-w2m-words %d: need at least -w2m-keys (%d), so that every word occurs", cfg.w2mWords, cfg.w2mKeys)
	}
	if *partitions < 1 || *partitions > 1000 {
		return config{}, fmt.Errorf("-partitions %d: need 1 to 1000", *partitions)
	}
	cfg.partitions = int32(*partitions)
	if cfg.commit <= 0 || cfg.timeout <= 0 || cfg.rounds < 1 {
		return config{}, errors.New("-commit-interval, -timeout and -rounds must be positive")
	}
	for _, w := range strings.Split(*only, ",") {
		w = strings.ToLower(strings.TrimSpace(w))
		if w == "" {
			continue
		}
		if !slices.Contains(workloads, w) {
			return config{}, fmt.Errorf("-only: unknown workload %q (have %s)", w, strings.Join(workloads, ", "))
		}
		if !slices.Contains(cfg.only, w) {
			cfg.only = append(cfg.only, w)
		}
	}
	return cfg, nil
}

func main() {
	if p := os.Getenv(brokerEnv); p != "" {
		if err := serveBroker(p); err != nil {
			fmt.Fprintln(os.Stderr, "bench broker:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is one run: the broker, an admin client, and the summary so far.
type bench struct {
	cfg   config
	out   io.Writer
	addrs []string
	// brokerPid is the broker's process under -broker process, else 0.
	brokerPid int
	admCl     *kgo.Client
	adm       *kadm.Client
	tmp       string
	summary   []string

	// w2 is the W2 input, produced once for W2 and the -eos comparisons;
	// w2m is W2M's.
	w2, w2m *wordInput
	// w2Rates are the median words/s of W2's samsa sides, by label, for
	// W2M to compare with.
	w2Rates map[string]float64
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	b := &bench{cfg: cfg, out: out}
	if cfg.brokerProc {
		addrs, pid, stop, err := startBrokerProcess(cfg.partitions)
		if err != nil {
			return err
		}
		defer stop()
		b.addrs, b.brokerPid = addrs, pid
	} else {
		broker, err := kafkatest.Start(kafkatest.Partitions(cfg.partitions))
		if err != nil {
			return err
		}
		defer broker.Close()
		b.addrs = broker.Addrs()
	}
	admCl, err := kgo.NewClient(kgo.SeedBrokers(b.addrs...))
	if err != nil {
		return err
	}
	defer admCl.Close()
	b.admCl, b.adm = admCl, kadm.NewClient(admCl)
	if b.tmp, err = os.MkdirTemp("", "samsa-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.tmp)

	b.header()
	for _, w := range workloads {
		if !slices.Contains(cfg.only, w) {
			continue
		}
		var err error
		switch w {
		case "w1":
			err = b.w1(ctx)
		case "w2":
			err = b.w2Bench(ctx)
		case "w2m":
			err = b.w2mBench(ctx)
		case "w6":
			err = b.w6(ctx)
		}
		if err != nil {
			return err
		}
	}
	if cfg.eos {
		if err := b.eosCompare(ctx); err != nil {
			return err
		}
	}
	left, err := b.listTopics(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nTopics left on the broker: %s (the inputs)\n", strings.Join(left, " "))
	fmt.Fprintf(out, "\nSummary (load average at the end: %s)\n", loadAvg())
	for _, l := range b.summary {
		fmt.Fprintln(out, l)
	}
	return nil
}

func (b *bench) header() {
	c := b.cfg
	p := func(format string, args ...any) { fmt.Fprintf(b.out, format+"\n", args...) }
	p("samsa bench: %d input records per workload, %d for W6 (8-byte keys, 100-byte values); %s %s/%s, GOMAXPROCS=%d, NumCPU=%d",
		c.records, c.w6Records, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH, goruntime.GOMAXPROCS(0), goruntime.NumCPU())
	p("Load average at start: %s (other processes on this machine compete for its CPUs).", loadAvg())
	if c.brokerProc {
		p("One kfake broker runs in a process of its own: the CPU and memory figures are each side's (and the bench's) alone.")
	} else {
		p("One kfake broker runs in this process: its CPU and memory are in every side's figures, the same for Samsa and the baseline.")
	}
	p("At-least-once on both sides: every %v the baseline flushes its producer and commits offsets, as the Samsa apps do (CommitInterval %v).", c.commit, c.commit)
	p("Every producer, the baselines' and the apps', compresses with %s.", c.compression)
	p("W1/W2 topics have %d partitions; each side has its own output topic and consumer group, both read the same input topic.", c.partitions)
	p("Columns:")
	p("  rec/s       input records ÷ elapsed; elapsed runs from the start of the side (client or app creation, group join,")
	p("              topic set-up included) until all outputs are visible (output end offsets polled every 20ms; for")
	p("              samsa-cached, until the app committed its input and repartition topics to their ends)")
	p("  first out   when the first output became visible (≈ start-up cost)")
	p("  cpu s/1M    getrusage(RUSAGE_SELF) user+sys delta over the side, in CPU seconds per million input records")
	if c.brokerProc {
		p("  broker s/1M the broker process's user+sys CPU over the side (/proc/<pid>/stat), per million input records: it")
		p("              shares the machine's CPUs with the side")
	}
	p("  RSS start   VmRSS when the side starts, after a GC that returns freed memory to the OS (and malloc_trim, for Pebble's C memory)")
	p("  VmRSS peak  max of /proc/self/status VmRSS sampled every 10ms during this side only (broker and bench included)")
	p("  heap peak   max of the Go heap's objects (runtime/metrics), sampled with VmRSS: the rest of VmRSS is mostly Pebble's")
	p("              memtables and block cache, outside Go's heap")
	p("  ru_maxrss   getrusage max RSS of the whole process so far: monotonic over the run, not per side")
}

const rowFormat = "  %-22s %10s %11s %9s %9s %9s %11s %10s %10s %10s %10s  %s\n"

func (b *bench) tableHead(title string) {
	fmt.Fprintf(b.out, "\n%s\n", title)
	fmt.Fprintf(b.out, rowFormat, "side", "rec/s", "words/s", "elapsed", "first out", "cpu s/1M", "broker s/1M", "RSS start", "VmRSS peak", "heap peak", "ru_maxrss", "")
}

func (b *bench) row(r result) {
	words := "-"
	if r.words > 0 {
		words = fmt.Sprintf("%.0f", r.wordRate())
	}
	first := "-"
	if r.first > 0 {
		first = fmtDur(r.first)
	}
	brokerCPU := "-"
	if r.brokerCPU > 0 {
		brokerCPU = fmt.Sprintf("%.2f", perMillion(r.brokerCPU, r.records))
	}
	fmt.Fprintf(b.out, rowFormat, r.label, fmt.Sprintf("%.0f", r.rate()), words, fmtDur(r.elapsed), first,
		fmt.Sprintf("%.2f", r.cpuPerMillion()), brokerCPU, fmtMB(r.startRSS), fmtMB(r.peakRSS), fmtMB(r.peakHeap), fmtMB(r.maxRSS), r.note)
}

// loadAvg is the first three fields of /proc/loadavg, or "n/a".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func fmtDur(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func fmtMB(n int64) string {
	if n <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0fMB", float64(n)/(1<<20))
}

func verdict(ratio, target float64) string {
	if ratio >= target {
		return "ok"
	}
	return "BELOW TARGET"
}
