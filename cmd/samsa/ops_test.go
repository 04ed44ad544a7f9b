package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
)

// samsa runs the command line in-process and returns its exit code and
// outputs.
func samsa(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	code := run(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// app is a running word count.
type app struct {
	a    *runtime.App
	done chan error
}

// startApp runs word count as application appID with state in stateDir
// and waits until it is RUNNING.
func startApp(t *testing.T, b *kafkatest.Broker, appID, stateDir string) *app {
	t.Helper()
	a, err := runtime.New(testfix.WordCount(t),
		runtime.ApplicationID(appID),
		runtime.Brokers(b.Addrs()...),
		runtime.StateDir(stateDir),
		runtime.CommitInterval(100*time.Millisecond),
		runtime.SessionTimeout(6*time.Second),
	)
	if err != nil {
		t.Fatal(err)
	}
	ap := &app{a: a, done: make(chan error, 1)}
	go func() { ap.done <- a.Run(context.Background()) }()
	t.Cleanup(func() { ap.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for a.State() != runtime.Running {
		if time.Now().After(deadline) {
			t.Fatalf("app %s not RUNNING after 30s: %v", appID, a.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ap
}

func (ap *app) stop(t *testing.T) {
	if ap.done == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ap.a.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := <-ap.done; err != nil {
		t.Errorf("run: %v", err)
	}
	ap.done = nil
}

// waitGroupEmpty waits until the broker has seen the group's members leave.
func waitGroupEmpty(t *testing.T, adm *kadm.Client, group string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		g, err := describeGroup(t.Context(), adm, group)
		if err == nil && len(g.Members) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s still has members after 30s: %+v, %v", group, g.Members, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func adminFor(t *testing.T, b *kafkatest.Broker) *kadm.Client {
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// topologyFile writes word count's JSON description, as an application
// prints it with -describe json.
func topologyFile(t *testing.T) string {
	data, err := testfix.WordCount(t).DescribeJSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "topology.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// lag reports what a kadm lag query reports, per input partition, and
// names the tasks that read them.
func TestLagMatchesKadm(t *testing.T) {
	const appID = "lagapp"
	b := testfix.WordCountBroker(t, 3)
	lines, want := testfix.Corpus(0, 30)
	testfix.ProduceLines(t, b, lines...)
	ap := startApp(t, b, appID, t.TempDir())
	testfix.ReadCounts(t, b, want, 30*time.Second)
	ap.stop(t)
	adm := adminFor(t, b)
	waitGroupEmpty(t, adm, appID)
	// Input the application has not read yet: lag on the input topic.
	more, _ := testfix.Corpus(30, 12)
	testfix.ProduceLines(t, b, more...)

	code, out, errOut := samsa(t, "", "lag", "-brokers", b.Addrs()[0], "-application-id", appID, "-json", "-topology", topologyFile(t))
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	var rows []lagRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}

	lags, err := adm.Lag(t.Context(), appID)
	if err != nil {
		t.Fatal(err)
	}
	gl := lags[appID]
	if err := gl.Error(); err != nil {
		t.Fatal(err)
	}
	var kadmRows int
	var inputLag int64
	for topic, ps := range gl.Lag {
		for p, l := range ps {
			if l.Err != nil {
				t.Fatalf("kadm lag of %s/%d: %v", topic, p, l.Err)
			}
			kadmRows++
			i := slices.IndexFunc(rows, func(r lagRow) bool { return r.Topic == topic && r.Partition == p })
			if i < 0 {
				t.Errorf("samsa lag has no row for %s/%d", topic, p)
				continue
			}
			r := rows[i]
			if r.Committed != l.Commit.At || r.End != l.End.Offset || r.Lag != l.Lag {
				t.Errorf("%s/%d: samsa committed %d end %d lag %d; kadm %d %d %d", topic, p, r.Committed, r.End, r.Lag, l.Commit.At, l.End.Offset, l.Lag)
			}
			if topic == testfix.InputTopic {
				inputLag += r.Lag
			}
		}
	}
	if kadmRows != len(rows) || len(rows) != 6 {
		t.Errorf("samsa lag has %d rows, kadm %d; want 6 (3 input, 3 repartition partitions):\n%s", len(rows), kadmRows, out)
	}
	if inputLag != int64(len(more)) {
		t.Errorf("lag on %s = %d, want the %d lines produced after the app stopped", testfix.InputTopic, inputLag, len(more))
	}
	for _, r := range rows {
		sub, internal := "0", false
		if r.Topic == appID+"-counts-repartition" {
			sub, internal = "1", true
		}
		if want := fmt.Sprintf("%s_%d", sub, r.Partition); r.Task != want || r.Internal != internal {
			t.Errorf("%s/%d: task %q internal %v, want %q %v", r.Topic, r.Partition, r.Task, r.Internal, want, internal)
		}
	}

	// The table says the same, with the total.
	code, out, errOut = samsa(t, "", "lag", "-brokers", b.Addrs()[0], "-application-id", appID)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, want := range []string{"TASK", "COMMITTED", appID + "-counts-repartition (internal)", fmt.Sprintf("total lag %d", inputLag)} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// describe -group lists each member with its partitions and, given the
// topology, its tasks: together the members hold every task once.
func TestDescribeGroup(t *testing.T) {
	const appID = "descapp"
	b := testfix.WordCountBroker(t, 3)
	lines, want := testfix.Corpus(0, 20)
	testfix.ProduceLines(t, b, lines...)
	startApp(t, b, appID, t.TempDir())
	testfix.ReadCounts(t, b, want, 30*time.Second)
	// A second instance joins: a rebalance in which the first reports the
	// tasks it owned.
	startApp(t, b, appID, t.TempDir())

	allTasks := []string{"0_0", "0_1", "0_2", "1_0", "1_1", "1_2"}
	topo := topologyFile(t)
	var g groupDescription
	for _, args := range [][]string{{"-topology", topo}} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, out, errOut := samsa(t, "", append([]string{"describe", "-group", appID, "-brokers", b.Addrs()[0], "-json"}, args...)...)
			if code != exitOK {
				t.Fatalf("%v: exit %d, stderr:\n%s", args, code, errOut)
			}
			g = groupDescription{}
			if err := json.Unmarshal([]byte(out), &g); err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			var tasks []string
			for _, m := range g.Members {
				tasks = append(tasks, m.Tasks...)
			}
			slices.Sort(tasks)
			if g.State == "Stable" && len(g.Members) == 2 && slices.Equal(tasks, allTasks) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%v: after 30s the group is %+v; want 2 members holding %v between them", args, g, allTasks)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, m := range g.Members {
			if m.ProcessID == "" || len(m.Tasks) != 3 || len(m.Partitions) != 3 || m.Err != "" {
				t.Errorf("%v: member %+v; want a process id, 3 tasks and their 3 partitions", args, m)
			}
		}
		if g.Members[0].ProcessID == g.Members[1].ProcessID {
			t.Errorf("%v: both members are process %s", args, g.Members[0].ProcessID)
		}
	}
	// Without the topology the partitions are the same, the tasks unknown;
	// the topology on standard input names them again.
	code, out, _ := samsa(t, "", "describe", "-group", appID, "-brokers", b.Addrs()[0], "-json")
	var bare groupDescription
	if err := json.Unmarshal([]byte(out), &bare); code != exitOK || err != nil || len(bare.Members) != 2 {
		t.Fatalf("without -topology: exit %d, %v:\n%s", code, err, out)
	}
	for i, m := range bare.Members {
		if len(m.Tasks) != 0 || !slices.Equal(m.Partitions, g.Members[i].Partitions) {
			t.Errorf("without -topology: member %+v; want no tasks and the partitions %v", m, g.Members[i].Partitions)
		}
	}
	data, _ := os.ReadFile(topo)
	code, out, _ = samsa(t, string(data), "describe", "-group", appID, "-brokers", b.Addrs()[0], "-topology", "-")
	for _, want := range []string{"group descapp: state Stable, protocol samsa-tasks-v2, 2 members", "STATE ON DISK", strings.Join(g.Members[0].Tasks, " ")} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("table: exit %d, lacks %q:\n%s", code, want, out)
		}
	}
}
