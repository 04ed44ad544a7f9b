package dsl

import (
	"bytes"
	"testing"

	"github.com/samsa-go/samsa/serde"
)

func TestForeignKeyWireFormats(t *testing.T) {
	h := fkHash{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ss := subscriptionSerde[string]{serde.String}
	for _, sub := range []subscription[string]{
		{instruction: propagateNull, hash: h, hasHash: true, pk: "k"},
		{instruction: deleteAndPropagate, pk: "k"},
		{instruction: propagateIfFound, hash: h, hasHash: true, pk: ""},
	} {
		b, err := ss.Serialize(nil, "t", sub)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ss.Deserialize("t", b)
		if err != nil || got != sub {
			t.Fatalf("%+v: round trip gave %+v, %v", sub, got, err)
		}
	}
	if b, _ := ss.Serialize(nil, "t", subscription[string]{instruction: deleteNoPropagate, pk: "pk"}); !bytes.Equal(b, []byte("\x01\x00\x00pk")) {
		t.Fatalf("subscription encodes as %q", b)
	}
	for _, bad := range [][]byte{nil, {0x02, 0, 0}, {0x01, 9, 0}, {0x01, 0, 2}, {0x01, 0, 1, 1, 2}} {
		if _, err := ss.Deserialize("t", bad); err == nil {
			t.Errorf("subscription %q decoded", bad)
		}
	}

	rs := responseSerde[string]{serde.String}
	for _, r := range []response[string]{
		{hash: h, hasHash: true, value: "v", hasValue: true},
		{hash: h, hasHash: true},
		{value: "", hasValue: true},
		{},
	} {
		b, err := rs.Serialize(nil, "t", r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rs.Deserialize("t", b)
		if err != nil || got != r {
			t.Fatalf("%+v: round trip gave %+v, %v", r, got, err)
		}
	}
	for _, bad := range [][]byte{{0x01}, {0x02, 0}, {0x01, 0x04}, {0x01, 0x01, 1}, {0x01, 0x00, 'x'}} {
		if _, err := rs.Deserialize("t", bad); err == nil {
			t.Errorf("response %q decoded", bad)
		}
	}

	key := combinedKey(nil, []byte("fk"), []byte("pk"))
	if !bytes.HasPrefix(key, combinedPrefix(nil, []byte("fk"))) || bytes.HasPrefix(key, combinedPrefix(nil, []byte("f"))) {
		t.Fatalf("combined key %q and its prefixes", key)
	}
	if pk, err := primaryOf(key); err != nil || string(pk) != "pk" {
		t.Fatalf("primaryOf = %q, %v", pk, err)
	}
	if _, err := primaryOf([]byte{0, 0, 0, 9, 'x'}); err == nil {
		t.Fatal("a cut combined key decoded")
	}
}
