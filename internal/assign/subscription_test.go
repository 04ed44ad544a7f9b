package assign

import (
	"errors"
	"reflect"
	"testing"
)

func TestSubscriptionRoundTrip(t *testing.T) {
	for _, s := range []Subscription{
		{ProcessID: "p"},
		{ProcessID: "6f1c2f0e-process", Owned: []TaskID{{0, 1}, {3, 2147483647}}},
		{ProcessID: "ü", Owned: []TaskID{{1, 0}}, StateOnDisk: []TaskID{{0, 0}, {1, 0}, {1 << 30, 5}}},
	} {
		var got Subscription
		if err := got.ReadFrom(s.AppendTo(nil)); err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Errorf("round trip: got %+v, want %+v", got, s)
		}
	}
}

func TestSubscriptionFutureVersion(t *testing.T) {
	// A newer writer appends fields; this reader keeps what it knows.
	s := Subscription{ProcessID: "p", Owned: []TaskID{{0, 1}}}
	b := s.AppendTo(nil)
	b[0] = subscriptionVersion + 1
	b = append(b, 0xde, 0xad)
	var got Subscription
	if err := got.ReadFrom(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("got %+v, want %+v", got, s)
	}
}

func TestSubscriptionMalformed(t *testing.T) {
	good := Subscription{ProcessID: "proc", Owned: []TaskID{{1, 2}}, StateOnDisk: []TaskID{{3, 4}}}.AppendTo(nil)
	for name, b := range map[string][]byte{
		"nil":               nil,
		"version 0":         {0, 0, 0, 0},
		"truncated":         good[:len(good)-1],
		"trailing":          append(good[:len(good):len(good)], 0),
		"long process id":   {1, 50, 'x'},
		"huge count":        {1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"negative task":     {1, 0, 1, 1, 0, 0}, // varint 1 is -1
		"no state list":     {1, 0, 0},
		"partition too big": append([]byte{1, 0, 1, 0}, 0x80, 0x80, 0x80, 0x80, 0x10, 0),
	} {
		var s Subscription
		if err := s.ReadFrom(b); !errors.Is(err, ErrBadMetadata) {
			t.Errorf("%s: error %v, want ErrBadMetadata", name, err)
		}
	}
}
