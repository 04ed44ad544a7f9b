package runtime_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
)

// A source topic deleted while the app runs, or deleted and recreated,
// moves the app to ERROR with ErrMissingSourceTopic naming it, within the
// bound of the source check, with one line saying so and no flood of the
// fetch errors that follow.
func TestSourceTopicDeleted(t *testing.T) {
	for _, recreate := range []bool{false, true} {
		name := map[bool]string{false: "deleted", true: "recreated"}[recreate]
		t.Run(name, func(t *testing.T) {
			c := kafkatest.NewBroker(t, kafkatest.Topics(1, "in", "out"))
			logs := &logBuffer{}
			app, done := runApp(t, c, copyStrings(t), t.TempDir(), runtime.ApplicationID("sources"), runtime.Logger(logs.logger()))
			produceValues(t, c, "in", strs("a", "b")...)
			if got := readRecords(t, c, "out", 2, 30*time.Second, true); len(got) != 2 {
				t.Fatalf("out has %d records, want 2", len(got))
			}
			// Idle, with everything committed: the check of the source
			// topics finds the deletion, not a commit that fails on it.
			eventually(t, 30*time.Second, "the input offsets are committed", func() (bool, string) {
				return committedOffset(t, c, "sources", "in") == 2, ""
			})
			before := len(strings.Split(logs.String(), "\n"))
			start := time.Now()
			if err := c.Cluster().DeleteTopic("in"); err != nil {
				t.Fatal(err)
			}
			if recreate {
				if err := c.CreateTopic("in", 1); err != nil {
					t.Fatal(err)
				}
				produceValues(t, c, "in", strs("c")...)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("the app runs on %v after its source topic was %s", time.Since(start), name)
			}
			took := time.Since(start)
			var me *runtime.MissingSourceTopicError
			if !errors.Is(err, runtime.ErrMissingSourceTopic) || !errors.As(err, &me) || me.Topic != "in" || me.Recreated != recreate {
				t.Fatalf("Run = %v, want a *MissingSourceTopicError for topic in (recreated %v)", err, recreate)
			}
			if s := app.State(); s != runtime.Error {
				t.Fatalf("state %v, want ERROR", s)
			}
			// Two checks of the source topics, and the load of a shared
			// machine.
			if took > 10*time.Second {
				t.Fatalf("ERROR after %v", took)
			}
			out := logs.String()
			if n := strings.Count(out, `source topic \"in\" was deleted`); n != 1 {
				t.Errorf("%d lines say the topic was deleted, want 1:\n%s", n, out)
			}
			lines := strings.Split(out, "\n")[before-1:]
			if len(lines) > 100 {
				t.Errorf("%d log lines in the %v from the deletion to the end: a flood", len(lines), took)
			}
			t.Logf("ERROR %v after the topic was %s; %d log lines meanwhile", took.Round(time.Millisecond), name, len(lines))
		})
	}
}
