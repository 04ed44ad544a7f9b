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
// directory name.
func ParseTaskID(s string) (TaskID, error) {
	sub, part, ok := strings.Cut(s, "_")
	if !ok {
		return TaskID{}, fmt.Errorf("assign: %w: %q", ErrBadTaskID, s)
	}
	st, err := strconv.Atoi(sub)
	if err != nil || st < 0 {
		return TaskID{}, fmt.Errorf("assign: %w: %q", ErrBadTaskID, s)
	}
	p, err := strconv.ParseInt(part, 10, 32)
	if err != nil || p < 0 {
		return TaskID{}, fmt.Errorf("assign: %w: %q", ErrBadTaskID, s)
	}
	return TaskID{Subtopology: st, Partition: int32(p)}, nil
}

// Subtopology is what the balancer needs to know of one subtopology: its id
// and the real names of its source topics, which are co-partitioned.
type Subtopology struct {
	ID           int
	SourceTopics []string
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
