package assign

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TaskID names one task: a subtopology running on one partition of its
// source topics. It prints as "<subtopology>_<partition>", as in Kafka
// Streams.
type TaskID struct {
	Subtopology int
	Partition   int32
}

func (t TaskID) String() string {
	return strconv.Itoa(t.Subtopology) + "_" + strconv.FormatInt(int64(t.Partition), 10)
}

// Compare orders tasks by subtopology, then partition; use it with
// slices.SortFunc.
func (t TaskID) Compare(u TaskID) int {
	if c := cmp.Compare(t.Subtopology, u.Subtopology); c != 0 {
		return c
	}
	return cmp.Compare(t.Partition, u.Partition)
}

// ParseTaskID parses the form TaskID.String prints, such as a task's state
// directory name, and nothing else: each number is plain decimal without a
// sign or leading zeros and at most math.MaxInt32, so that one task has one
// name, a parsed id prints back as the name it came from, and it fits the
// group protocol's encoding (see Subscription).
func ParseTaskID(s string) (TaskID, error) {
	sub, part, ok := strings.Cut(s, "_")
	st, okSub := parseIndex(sub)
	p, okPart := parseIndex(part)
	if !ok || !okSub || !okPart {
		return TaskID{}, fmt.Errorf("assign: %w: %q", ErrBadTaskID, s)
	}
	return TaskID{Subtopology: int(st), Partition: p}, nil
}

// parseIndex parses a canonical decimal in [0, math.MaxInt32]. strconv
// alone would take "+1" and "01" too, giving one task several names: a
// directory "01_0" would be reported as task 1_0's state, while the task
// itself opened and removed "1_0".
func parseIndex(s string) (int32, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 32)
	return int32(n), err == nil
}

// Subtopology is what the balancer needs to know of one subtopology: its id
// and the real names of its source topics, which are co-partitioned.
type Subtopology struct {
	ID           int
	SourceTopics []string
	// Stateful says the subtopology has stores logged to changelogs: only
	// its tasks get standbys.
	Stateful bool
}

// TasksOf returns the tasks that an assignment of topic partitions stands for,
// sorted and without duplicates. Partitions of topics that no subtopology
// reads are ignored.
func TasksOf(assignment map[string][]int32, subs []Subtopology) []TaskID {
	var tasks []TaskID
	for _, s := range subs {
		for _, topic := range s.SourceTopics {
			for _, p := range assignment[topic] {
				tasks = append(tasks, TaskID{Subtopology: s.ID, Partition: p})
			}
		}
	}
	return normalize(tasks)
}

// normalize sorts tasks and removes duplicates, in place.
func normalize(tasks []TaskID) []TaskID {
	slices.SortFunc(tasks, TaskID.Compare)
	return slices.Compact(tasks)
}
