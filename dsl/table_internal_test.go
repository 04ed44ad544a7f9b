package dsl

import (
	"bytes"
	"testing"

	"github.com/samsa-go/samsa/serde"
)

// Which tables send old values is decided while the topology is built, by
// what is downstream: a table read only by ToStream never reads a row to
// forward it; a re-grouping asks upstream for old values down to the
// nearest table with a store, which reads them from it.
func TestSendOldValuesDecidedAtBuild(t *testing.T) {
	identity := func(k, v string) (string, string) { return k, v }
	pass := func(string, string) bool { return true }
	tests := []struct {
		name  string
		build func(src KTable[string, string]) []*tableMeta[string, string]
		// want is sendOld of the source, then of each table returned.
		want []bool
	}{
		{"ToStream", func(src KTable[string, string]) []*tableMeta[string, string] {
			src.ToStream().To("out")
			return nil
		}, []bool{false}},
		{"Filter then ToStream", func(src KTable[string, string]) []*tableMeta[string, string] {
			f := src.Filter(pass)
			f.ToStream().To("out")
			return []*tableMeta[string, string]{f.m}
		}, []bool{false, false}},
		{"GroupBy", func(src KTable[string, string]) []*tableMeta[string, string] {
			src.GroupBy(identity).Count()
			return nil
		}, []bool{true}},
		{"Filter then GroupBy", func(src KTable[string, string]) []*tableMeta[string, string] {
			f := src.Filter(pass)
			f.GroupBy(identity).Count()
			return []*tableMeta[string, string]{f.m}
		}, []bool{true, true}},
		{"materialized Filter then GroupBy", func(src KTable[string, string]) []*tableMeta[string, string] {
			f := src.Filter(pass, MaterializedAs[string, string]("passed"))
			f.GroupBy(identity).Count()
			return []*tableMeta[string, string]{f.m}
		}, []bool{false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuilder()
			src := Table(b, "in", serde.String, serde.String)
			metas := append([]*tableMeta[string, string]{src.m}, tc.build(src)...)
			if _, err := b.Build(); err != nil {
				t.Fatal(err)
			}
			for i, m := range metas {
				if m.sendOld != tc.want[i] {
					t.Errorf("table %d sends old values: %v, want %v", i, m.sendOld, tc.want[i])
				}
			}
		})
	}
}

func TestChangeSerde(t *testing.T) {
	s := changeSerde[string]{serde.String}
	for _, c := range []change[string]{
		{New: "new", HasNew: true},
		{Old: "old", HasOld: true},
		{New: "new", Old: "old", HasNew: true, HasOld: true},
		{New: "", Old: "", HasNew: true, HasOld: true},
		{New: "", HasNew: true},
	} {
		b, err := s.Serialize([]byte("prefix"), "t", c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatalf("Serialize did not append: %q", b)
		}
		got, err := s.Deserialize("t", b[len("prefix"):])
		if err != nil || got != c {
			t.Fatalf("%+v: round trip gave %+v, %v", c, got, err)
		}
	}
	if b, _ := s.Serialize(nil, "t", change[string]{New: "ab", Old: "c", HasNew: true, HasOld: true}); !bytes.Equal(b, []byte("\x03\x00\x00\x00\x02abc")) {
		t.Fatalf("both values encode as %q", b)
	}
	for _, bad := range [][]byte{nil, {0x04, 'x'}, {changeBoth, 0, 0}, {changeBoth, 0, 0, 0, 9, 'x'}} {
		if _, err := s.Deserialize("t", bad); err == nil {
			t.Errorf("Deserialize(%q) succeeded", bad)
		}
	}
	if _, err := s.Serialize(nil, "t", change[string]{}); err == nil {
		t.Error("a change with no values serialized")
	}
}

// The result of a foreign-key join gets a store only when something
// downstream reads its rows or needs its old values: a Filter without a
// store of its own, then ToStream, leaves it without one.
func TestForeignKeyResultMaterializedOnDemand(t *testing.T) {
	fk := func(v string) (string, bool) { return v, true }
	join := func(v, o string) string { return v + o }
	pass := func(string, string) bool { return true }
	for _, tc := range []struct {
		name   string
		use    func(b *Builder, res KTable[string, string])
		stored bool
	}{
		{"ToStream", func(_ *Builder, res KTable[string, string]) { res.Filter(pass).ToStream().To("out") }, false},
		{"joined by a stream", func(b *Builder, res KTable[string, string]) {
			Stream(b, "s", serde.String, serde.String).JoinTable(res.Filter(pass), join).To("out")
		}, true},
		{"re-grouped", func(_ *Builder, res KTable[string, string]) {
			res.GroupBy(func(k, v string) (string, string) { return v, k }).Count()
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuilder()
			res := Table(b, "l", serde.String, serde.String).JoinForeignKey(Table(b, "r", serde.String, serde.String), fk, join)
			tc.use(b, res)
			if _, err := b.Build(); err != nil {
				t.Fatal(err)
			}
			if stored := res.StoreName() != ""; stored != tc.stored {
				t.Fatalf("result has a store: %v (%q), want %v", stored, res.StoreName(), tc.stored)
			}
		})
	}
}
