package runtime_test

import (
	"context"
	"encoding/binary"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-go/samsa/dsl"
	"github.com/samsa-go/samsa/internal/assign"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/serde"
)

// coopRun is one scale-out from two instances to three and back under load:
// a producer writes keys to every partition at a steady rate, and a reader
// notes when each partition's counts arrive.
type coopRun struct {
	t     *testing.T
	c     *kafkatest.Broker
	opts  []runtime.Option
	root  string
	parts int32
	// eager says the group rebalances eagerly: every task reopens.
	eager bool

	opens    sync.Map         // task => *atomic.Int32, its openings
	produced map[string]int64 // key => records produced
	stop     chan struct{}
	prodDone chan struct{}

	mu       sync.Mutex
	arrivals map[int32][]time.Time // out partition => when counts arrived
	counts   map[string][]int64    // key => counts read, in order
	readDone chan struct{}
	readStop atomic.Bool
}

const coopParts = 6

// coopInit is how long a task's processor takes to initialize, as one
// that loads a model or warms a cache would: what a task pays each time it
// is opened, on top of its restore.
const coopInit = 500 * time.Millisecond

// slowInit forwards what it gets; its Init takes coopInit and counts the
// task's openings.
type slowInit struct {
	ctx   processor.Context[string, string]
	opens *sync.Map // task => *atomic.Int32
}

func (p *slowInit) Init(ctx processor.Context[string, string]) error {
	p.ctx = ctx
	n, _ := p.opens.LoadOrStore(ctx.TaskID(), new(atomic.Int32))
	n.(*atomic.Int32).Add(1)
	time.Sleep(coopInit)
	return nil
}

func (p *slowInit) Process(rec processor.Record[string, string]) error { return p.ctx.Forward(rec) }
func (p *slowInit) Close() error                                       { return nil }

func coopTopology(opens *sync.Map) *dsl.Builder {
	b := dsl.NewBuilder()
	dsl.Stream(b, "in", serde.String, serde.String).
		ProcessValues(processor.SupplierFunc[string, string, string, string](func() processor.Processor[string, string, string, string] {
			return &slowInit{opens: opens}
		})).
		GroupByKey(dsl.GroupedWith(serde.String, serde.String)).
		Count(dsl.MaterializedAs[string, int64]("counts")).
		ToStream().
		To("out", dsl.ProducedWith(serde.String, serde.Int64))
	return b
}

func newCoopRun(t *testing.T, eager bool, opts ...runtime.Option) *coopRun {
	c := kafkatest.NewBroker(t, kafkatest.Topics(coopParts, "in", "out"), kafkatest.Partitions(coopParts))
	if eager {
		// Members of a release before the cooperative protocol: the
		// broker sees only the eager protocol offered, and the group
		// rebalances eagerly, as it does while any member is that old.
		c.Cluster().ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
			jr := req.(*kmsg.JoinGroupRequest)
			jr.Protocols = slices.DeleteFunc(jr.Protocols, func(p kmsg.JoinGroupRequestProtocol) bool {
				return p.Name == assign.CooperativeProtocolName
			})
			return nil, nil, false
		})
	}
	return &coopRun{
		t: t, c: c, root: t.TempDir(), parts: coopParts, eager: eager,
		opts:     append([]runtime.Option{runtime.ApplicationID("coop")}, opts...),
		produced: map[string]int64{},
		arrivals: map[int32][]time.Time{},
		counts:   map[string][]int64{},
	}
}

func (r *coopRun) start(name string) (*runtime.App, chan error) {
	topo, err := coopTopology(&r.opens).Build()
	if err != nil {
		r.t.Fatal(err)
	}
	return runApp(r.t, r.c, topo, r.root+"/"+name, r.opts...)
}

// produce writes one record every tick, round-robin over 48 keys, until
// stopped.
func (r *coopRun) produce(tick time.Duration) {
	cl, err := r.c.Client(kgo.DefaultProduceTopic("in"))
	if err != nil {
		r.t.Fatal(err)
	}
	r.stop, r.prodDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.prodDone)
		defer cl.Close()
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for i := 0; ; i++ {
			select {
			case <-r.stop:
				if err := cl.Flush(context.Background()); err != nil {
					r.t.Error(err)
				}
				return
			case <-tk.C:
			}
			key := "k" + strconv.Itoa(i%48)
			r.mu.Lock()
			r.produced[key]++
			r.mu.Unlock()
			cl.Produce(context.Background(), &kgo.Record{Key: []byte(key), Value: []byte(strconv.Itoa(i))}, func(_ *kgo.Record, err error) {
				if err != nil {
					r.t.Errorf("produce: %v", err)
				}
			})
		}
	}()
}

func (r *coopRun) stopProducing() {
	close(r.stop)
	<-r.prodDone
}

// read consumes out, read_committed, until stopped.
func (r *coopRun) read() {
	cl, err := r.c.Client(kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		r.t.Fatal(err)
	}
	r.readDone = make(chan struct{})
	go func() {
		defer close(r.readDone)
		defer cl.Close()
		for !r.readStop.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			fs := cl.PollFetches(ctx)
			cancel()
			now := time.Now()
			r.mu.Lock()
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				if len(p.Records) == 0 {
					return
				}
				r.arrivals[p.Partition] = append(r.arrivals[p.Partition], now)
				for _, rec := range p.Records {
					r.counts[string(rec.Key)] = append(r.counts[string(rec.Key)], int64(binary.BigEndian.Uint64(rec.Value)))
				}
			})
			r.mu.Unlock()
		}
	}()
}

// opened is how many times each task was opened, by partition.
func (r *coopRun) opened() map[int32]int32 {
	out := map[int32]int32{}
	r.opens.Range(func(k, v any) bool {
		out[k.(processor.TaskID).Partition] = v.(*atomic.Int32).Load()
		return true
	})
	return out
}

// maxGap is the longest a partition went without counts arriving between
// from and to.
func (r *coopRun) maxGap(p int32, from, to time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var gap time.Duration
	last := from
	for _, at := range r.arrivals[p] {
		if at.Before(from) {
			continue
		}
		if at.After(to) {
			at = to
		}
		gap = max(gap, at.Sub(last))
		last = at
		if !at.Before(to) {
			return gap
		}
	}
	return max(gap, to.Sub(last))
}

// waitTasks waits until the apps hold the given numbers of tasks and every
// task is held once, and returns when.
func (r *coopRun) waitTasks(apps []*runtime.App, want ...int) time.Time {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		seen := map[processor.TaskID]bool{}
		ok := true
		for i, a := range apps {
			ids := a.ActiveTasks()
			if len(ids) != want[i] || a.State() != runtime.Running {
				ok = false
			}
			for _, id := range ids {
				if seen[id] {
					ok = false
				}
				seen[id] = true
			}
		}
		if ok && len(seen) == int(r.parts) {
			return time.Now()
		}
		if time.Now().After(deadline) {
			var got [][]processor.TaskID
			for _, a := range apps {
				got = append(got, a.ActiveTasks())
			}
			r.t.Fatalf("tasks %v, want counts %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkCounts reads until every key's last count is what was produced, and
// checks that each key's counts went up by one at a time, which under
// exactly-once they must: no record lost, none counted twice. Under
// at-least-once it reports the repeats.
func (r *coopRun) checkCounts(eos bool) {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		short := r.short()
		if len(short) == 0 {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("counts did not catch up with what was produced: %v", short)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // late duplicates would show
	r.readStop.Store(true)
	<-r.readDone
	var extra int64
	for k, n := range r.produced {
		cs := r.counts[k]
		last := cs[len(cs)-1]
		switch {
		case last < n:
			r.t.Errorf("key %s: last count %d, produced %d: records lost", k, last, n)
		case eos && !countsUp(cs, n):
			r.t.Errorf("key %s: %d records produced, counts read %v are not 1, 2, 3, ...", k, n, cs)
		}
		extra += last - n
	}
	if extra > 0 {
		r.t.Logf("%d records counted twice (at-least-once)", extra)
	}
}

// short lists, sorted, the keys whose last count read is below the records
// produced, as "key: last of produced".
func (r *coopRun) short() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var short []string
	for k, n := range r.produced {
		var last int64
		if cs := r.counts[k]; len(cs) > 0 {
			last = cs[len(cs)-1]
		}
		if last < n {
			short = append(short, k+": "+strconv.FormatInt(last, 10)+" of "+strconv.FormatInt(n, 10))
		}
	}
	slices.Sort(short)
	return short
}

// countsUp reports whether cs is 1, 2, ..., n.
func countsUp(cs []int64, n int64) bool {
	if int64(len(cs)) != n {
		return false
	}
	for i, c := range cs {
		if c != int64(i+1) {
			return false
		}
	}
	return true
}

// scale runs two instances, adds a third under load and measures how long
// the counts of each partition stopped arriving while the tasks moved; then
// closes the third and the second, and checks the counts.
func (r *coopRun) scale(eos bool) (stayGap, moveGap, rebalance time.Duration, reopened, inReopened int) {
	r.t.Helper()
	// Instances that start apart heartbeat apart, so that they learn of
	// a rebalance at different times, as they do in production.
	a, aDone := r.start("a")
	r.waitTasks([]*runtime.App{a}, 6)
	time.Sleep(1500 * time.Millisecond)
	b, bDone := r.start("b")
	r.waitTasks([]*runtime.App{a, b}, 3, 3)
	r.read()
	r.produce(2 * time.Millisecond)
	time.Sleep(2 * time.Second)

	before := map[*runtime.App][]processor.TaskID{a: a.ActiveTasks(), b: b.ActiveTasks()}
	opens := r.opened()
	began := time.Now()
	cApp, cDone := r.start("c")
	settled := r.waitTasks([]*runtime.App{a, b, cApp}, 2, 2, 2)
	rebalance = settled.Sub(began)
	time.Sleep(time.Second)
	to := time.Now()
	var stay, moved []int32
	for _, x := range []*runtime.App{a, b} {
		for _, id := range before[x] {
			if slices.Contains(x.ActiveTasks(), id) {
				stay = append(stay, id.Partition)
			} else {
				moved = append(moved, id.Partition)
			}
		}
	}
	countOut := func() {
		after := r.opened()
		reopened = 0
		for _, p := range stay {
			if after[p] != opens[p] {
				reopened++
			}
		}
	}
	countOut()
	for deadline := time.Now().Add(10 * time.Second); r.eager && reopened < len(stay) && time.Now().Before(deadline); countOut() {
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range stay {
		stayGap = max(stayGap, r.maxGap(p, began, to))
	}
	for _, p := range moved {
		moveGap = max(moveGap, r.maxGap(p, began, to))
	}
	r.t.Logf("scale-out 2→3: rebalance %v; counts of tasks that stayed (%v, %d reopened) paused at most %v, of tasks that moved (%v) %v",
		rebalance.Round(time.Millisecond), stay, reopened, stayGap.Round(time.Millisecond), moved, moveGap.Round(time.Millisecond))

	// Scale in, one instance at a time, still under load. The tasks of
	// the instance that leaves are held by no one: nothing is revoked.
	before = map[*runtime.App][]processor.TaskID{a: a.ActiveTasks(), b: b.ActiveTasks()}
	opens = r.opened()
	var after map[int32]int32
	closeApp(r.t, cApp, cDone)
	r.waitTasks([]*runtime.App{a, b}, 3, 3)
	// A task counts as held once it is made, and opens its processors
	// after its restore: give each thread's three time to.
	time.Sleep(3*coopInit + 500*time.Millisecond)
	stayed := 0
	count := func() {
		after = r.opened()
		stayed, inReopened = 0, 0
		for _, x := range []*runtime.App{a, b} {
			for _, id := range before[x] {
				if slices.Contains(x.ActiveTasks(), id) {
					stayed++
					if after[id.Partition] != opens[id.Partition] {
						inReopened++
					}
				}
			}
		}
	}
	count()
	// Eagerly, every task reopens, each after its restore and its
	// processors' Init, which a loaded machine may take longer over.
	for deadline := time.Now().Add(10 * time.Second); r.eager && inReopened < stayed && time.Now().Before(deadline); count() {
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Logf("scale-in 3→2: %d of the %d tasks that stayed reopened", inReopened, stayed)
	time.Sleep(500 * time.Millisecond)
	closeApp(r.t, b, bDone)
	r.waitTasks([]*runtime.App{a}, 6)
	time.Sleep(500 * time.Millisecond)
	r.stopProducing()
	r.checkCounts(eos)
	closeApp(r.t, a, aDone)
	return stayGap, moveGap, rebalance, reopened, inReopened
}

// Tasks that stay on an instance through a cooperative rebalance keep
// processing: they are not closed, and their counts go on arriving while
// the group moves the others, where an eager rebalance closes and reopens
// every task, which stops each for at least its processor's Init. Counts
// stay exact across scale-out and scale-in.
func TestCooperativeScaleOutKeepsTasksRunning(t *testing.T) {
	for _, g := range []struct {
		name string
		opts []runtime.Option
	}{
		{"at-least-once", nil},
		{"exactly-once", []runtime.Option{runtime.ExactlyOnce()}},
	} {
		t.Run(g.name, func(t *testing.T) {
			eos := len(g.opts) > 0
			var coopStay, eagerLeast, eagerMost time.Duration
			t.Run("cooperative", func(t *testing.T) {
				r := newCoopRun(t, false, g.opts...)
				stay, _, _, reopened, inReopened := r.scale(eos)
				coopStay = stay
				// Under exactly-once the transaction open when a
				// rebalance revokes tasks aborts, and the tasks that
				// stay with work in it are reopened on their stores;
				// under at-least-once none is. A scale-in revokes
				// nothing.
				if !eos && reopened > 0 {
					t.Errorf("scale-out: %d tasks that stayed were closed and reopened", reopened)
				}
				if inReopened > 0 {
					t.Errorf("scale-in: %d tasks that stayed were closed and reopened", inReopened)
				}
			})
			t.Run("eager", func(t *testing.T) {
				r := newCoopRun(t, true, g.opts...)
				stay, moved, _, reopened, inReopened := r.scale(eos)
				eagerLeast, eagerMost = min(stay, moved), max(stay, moved)
				if reopened != 4 || inReopened != 4 {
					t.Errorf("%d and %d of the 4 tasks that stayed in the scale-out and the scale-in were reopened, want all", reopened, inReopened)
				}
			})
			t.Logf("%s: tasks that stay pause %v in a cooperative rebalance; in an eager one tasks pause %v to %v",
				g.name, coopStay.Round(time.Millisecond), eagerLeast.Round(time.Millisecond), eagerMost.Round(time.Millisecond))
			if t.Failed() {
				return
			}
			// Against the eager run rather than a fixed bound: a loaded
			// machine stretches both alike, and the eager pause holds a
			// task's opening (coopInit) that a kept task never pays.
			if !eos && coopStay >= eagerLeast {
				t.Errorf("tasks that stayed paused %v in a cooperative rebalance, not less than the %v of an eager one", coopStay, eagerLeast)
			}
			if eagerLeast < coopInit {
				t.Errorf("tasks paused %v in an eager rebalance, less than a task takes to open (%v)", eagerLeast, coopInit)
			}
		})
	}
}

// A group rolls from a release before cooperative rebalancing one instance
// at a time: while a member offers only the eager protocol the group
// rebalances eagerly, and once the last such member leaves it turns
// cooperative. Counts stay exact through both kinds of rebalance and the
// switch.
func TestCooperativeRollingUpgrade(t *testing.T) {
	r := newCoopRun(t, false, runtime.ExactlyOnce())
	// The member advertising old:1 stands for an instance of the older
	// release: the broker sees it offer the eager protocol only.
	r.c.Cluster().ControlKey(int16(kmsg.JoinGroup), func(req kmsg.Request) (kmsg.Response, error, bool) {
		jr := req.(*kmsg.JoinGroupRequest)
		old := slices.ContainsFunc(jr.Protocols, func(p kmsg.JoinGroupRequestProtocol) bool {
			var meta kmsg.ConsumerMemberMetadata
			var sub assign.Subscription
			return meta.ReadFrom(p.Metadata) == nil && sub.ReadFrom(meta.UserData) == nil && sub.ApplicationServer == "old:1"
		})
		if old {
			jr.Protocols = slices.DeleteFunc(jr.Protocols, func(p kmsg.JoinGroupRequestProtocol) bool {
				return p.Name == assign.CooperativeProtocolName
			})
		}
		return nil, nil, false
	})
	cl, err := r.c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	protocol := func() string {
		t.Helper()
		described, err := adm.DescribeGroups(context.Background(), "coop")
		if err != nil {
			t.Fatal(err)
		}
		return described["coop"].Protocol
	}

	a, aDone := r.start("a")
	r.opts = append(r.opts, runtime.ApplicationServer("old:1"))
	old, oldDone := r.start("old")
	r.opts = r.opts[:len(r.opts)-1]
	r.waitTasks([]*runtime.App{a, old}, 3, 3)
	r.read()
	r.produce(2 * time.Millisecond)
	if p := protocol(); p != assign.ProtocolName {
		t.Errorf("with an old member the group speaks %q, want %q", p, assign.ProtocolName)
	}
	b, bDone := r.start("b")
	r.waitTasks([]*runtime.App{a, old, b}, 2, 2, 2)
	if p := protocol(); p != assign.ProtocolName {
		t.Errorf("with an old member the group speaks %q, want %q", p, assign.ProtocolName)
	}
	closeApp(t, old, oldDone)
	r.waitTasks([]*runtime.App{a, b}, 3, 3)
	if p := protocol(); p != assign.CooperativeProtocolName {
		t.Errorf("without old members the group speaks %q, want %q", p, assign.CooperativeProtocolName)
	}
	opens := r.opened()
	c, cDone := r.start("c")
	r.waitTasks([]*runtime.App{a, b, c}, 2, 2, 2)
	after := r.opened()
	kept := 0
	for _, x := range []*runtime.App{a, b} {
		for _, id := range x.ActiveTasks() {
			if after[id.Partition] == opens[id.Partition] {
				kept++
			}
		}
	}
	t.Logf("cooperative scale-out after the upgrade: %d of the 4 tasks that stayed kept running without reopening", kept)
	closeApp(t, c, cDone)
	r.waitTasks([]*runtime.App{a, b}, 3, 3)
	r.stopProducing()
	r.checkCounts(true)
	closeApp(t, b, bDone)
	closeApp(t, a, aDone)
}
