package runtime_test

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-go/samsa/internal/testfix"
	"github.com/samsa-go/samsa/processor"
	"github.com/samsa-go/samsa/runtime"
)

// waitAssigned waits until the apps' active tasks are n in all, each app
// having some, and returns each app's.
func waitAssigned(t testing.TB, n int, apps ...*runtime.App) [][]processor.TaskID {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got [][]processor.TaskID
		total := 0
		ok := true
		for _, a := range apps {
			ids := a.ActiveTasks()
			got = append(got, ids)
			total += len(ids)
			ok = ok && len(ids) > 0 && a.State() == runtime.Running
		}
		if ok && total == n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks after 30s: %v, want %d in all", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A static member that restarts within the session timeout gets its tasks
// back, and the other member keeps its own throughout: the closing member
// did not leave the group, so nobody took its tasks over meanwhile.
func TestStaticMemberRestartKeepsItsTasks(t *testing.T) {
	c := testfix.WordCountBroker(t, 4)
	root := t.TempDir()
	const tasks = 8 // two subtopologies of four partitions
	// Long enough for the restart; the brokers drop a member that did not
	// come back after it.
	session := runtime.SessionTimeout(20 * time.Second)
	a, _ := startApp(t, c, root+"/a", runtime.InstanceID("pod-a"), session)
	b, bDone := startApp(t, c, root+"/b", runtime.InstanceID("pod-b"), session)
	before := waitAssigned(t, tasks, a, b)
	lines, want := testfix.Corpus(0, 200)
	testfix.ProduceLines(t, c, lines...)
	testfix.ReadCounts(t, c, want, 60*time.Second)

	var rebalances atomic.Int32
	a.SetStateListener(func(_, s runtime.State) {
		if s == runtime.Rebalancing {
			rebalances.Add(1)
		}
	})
	closeApp(t, b, bDone)
	// A dynamic member would have left the group, and a would own every
	// task by now.
	time.Sleep(2 * time.Second)
	if got := a.ActiveTasks(); !slices.Equal(got, before[0]) {
		t.Errorf("while pod-b is down, pod-a has tasks %v, want its own %v", got, before[0])
	}
	if n := rebalances.Load(); n != 0 {
		t.Errorf("pod-a rebalanced %d times while pod-b was down, want 0", n)
	}

	b2, _ := startApp(t, c, root+"/b", runtime.InstanceID("pod-b"), session)
	after := waitAssigned(t, tasks, a, b2)
	if !slices.Equal(after[1], before[1]) {
		t.Errorf("restarted pod-b has tasks %v, want %v", after[1], before[1])
	}
	if !slices.Equal(after[0], before[0]) {
		t.Errorf("pod-a has tasks %v after the restart, want %v", after[0], before[0])
	}
	// Kafka's coordinator takes a static member back into a stable group
	// without a rebalance when the protocol it would select is unchanged
	// (updateStaticMemberThenRebalanceOrCompleteJoin). kfake skips it only
	// when the member's subscription is byte for byte the one it left with,
	// and pod-b's now lists the task state on its disk: kfake rebalances
	// once, where a dynamic member's restart rebalances twice (its leave,
	// then its join). The assignor gives every task back to its owner.
	if n := rebalances.Load(); n > 1 {
		t.Errorf("pod-a rebalanced %d times across pod-b's restart, want at most 1", n)
	}

	lines2, want2 := testfix.Corpus(200, 200)
	testfix.ProduceLines(t, c, lines2...)
	testfix.ReadCounts(t, c, testfix.Add(want, want2), 60*time.Second)
}

func TestInstanceIDIsChecked(t *testing.T) {
	for _, id := range []string{"pod/0", "a b", string(make([]byte, 250))} {
		_, err := runtime.New(testfix.WordCount(t), runtime.ApplicationID("a"), runtime.Brokers("localhost:9092"), runtime.InstanceID(id))
		if err == nil {
			t.Errorf("InstanceID(%q) accepted", id)
			continue
		}
		if want := "InstanceID"; !strings.Contains(err.Error(), want) {
			t.Errorf("InstanceID(%q): %v, want an error naming %s", id, err, want)
		}
	}
}
