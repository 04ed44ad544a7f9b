package assign

import (
	"errors"
	"slices"
	"testing"
)

func TestTaskIDString(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want TaskID
		err  bool
	}{
		{s: "0_0", want: TaskID{0, 0}},
		{s: "12_345", want: TaskID{12, 345}},
		{s: "0", err: true},
		{s: "a_1", err: true},
		{s: "1_b", err: true},
		{s: "-1_0", err: true},
		{s: "1_-2", err: true},
		{s: "1_2147483648", err: true},
		{s: "", err: true},
		{s: "_", err: true},
		{s: "1_", err: true},
		{s: "_1", err: true},
		{s: "1_2_3", err: true},
		{s: "+1_0", err: true},
		{s: "1_+0", err: true},
		{s: "01_0", err: true},
		{s: "0_00", err: true},
		{s: "-0_0", err: true},
		{s: " 1_0", err: true},
		{s: "1_0\n", err: true},
		{s: "1_0x1", err: true},
		{s: "2147483647_2147483647", want: TaskID{2147483647, 2147483647}},
		// A subtopology beyond int32 would not survive the Subscription
		// encoding, and one such directory would fail every rebalance.
		{s: "2147483648_0", err: true},
		{s: "99999999999999999999_0", err: true},
	} {
		got, err := ParseTaskID(tc.s)
		if tc.err {
			if !errors.Is(err, ErrBadTaskID) {
				t.Errorf("ParseTaskID(%q) error %v, want ErrBadTaskID", tc.s, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTaskID(%q) = %v, %v; want %v", tc.s, got, err, tc.want)
		}
		if got.String() != tc.s {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.s)
		}
	}
}

func TestTasksOf(t *testing.T) {
	subs := []Subtopology{
		{ID: 0, SourceTopics: []string{"orders", "customers"}},
		{ID: 1, SourceTopics: []string{"app-agg-repartition"}},
	}
	for _, tc := range []struct {
		name string
		in   map[string][]int32
		want []TaskID
	}{
		{"empty", nil, nil},
		{
			"co-partitioned topics give one task",
			map[string][]int32{"orders": {2, 0}, "customers": {0, 2}},
			[]TaskID{{0, 0}, {0, 2}},
		},
		{
			"one topic of a subtopology suffices",
			map[string][]int32{"customers": {3}, "app-agg-repartition": {1, 0}},
			[]TaskID{{0, 3}, {1, 0}, {1, 1}},
		},
		{
			"foreign topics are ignored",
			map[string][]int32{"other": {0}, "orders": {1}},
			[]TaskID{{0, 1}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TasksOf(tc.in, subs); !slices.Equal(got, tc.want) {
				t.Errorf("TasksOf = %v, want %v", got, tc.want)
			}
		})
	}
}
