package sql

import (
	"strings"
	"testing"
)

// Statements compiled one at a time, each with the program before as its
// catalog, plan only their own queries, read the sources of the ones
// before and number their push queries after theirs.
func TestCatalog(t *testing.T) {
	ddl, err := Compile("CREATE STREAM clicks (user_id STRING KEY, page STRING) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON');")
	if err != nil {
		t.Fatal(err)
	}
	if ddl.Topology() != nil {
		t.Fatalf("declarations alone made a topology:\n%s", ddl.Explain())
	}
	ctas, err := Compile("CREATE TABLE per_page AS SELECT page, COUNT(*) AS n FROM clicks GROUP BY page;", Catalog(ddl))
	if err != nil {
		t.Fatal(err)
	}
	push, err := Compile("SELECT page, n FROM per_page EMIT CHANGES;", Catalog(ctas))
	if err != nil {
		t.Fatal(err)
	}
	push2, err := Compile("SELECT * FROM clicks EMIT CHANGES;", Catalog(push))
	if err != nil {
		t.Fatal(err)
	}
	if got := push2.PushQueries()[0].Topic; got != "samsa-transient-2" {
		t.Errorf("second push query's topic %s", got)
	}
	// The push query reads the table's topic and runs nothing of the
	// aggregation.
	if d := push.Explain(); !strings.Contains(d, "(topics: [PER_PAGE])") || strings.Contains(d, "AGGREGATE") {
		t.Errorf("push query's topology:\n%s", d)
	}
	if _, err := push.Pull("SELECT * FROM per_page WHERE page = '/a';"); err != nil {
		t.Errorf("pull through the catalog: %v", err)
	}
	var names []string
	for _, s := range push2.Sources() {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "CLICKS PER_PAGE" {
		t.Errorf("sources %s", got)
	}
	if _, err := Compile("CREATE STREAM clicks (a INT) WITH (KAFKA_TOPIC='c', VALUE_FORMAT='JSON');", Catalog(ddl)); err == nil {
		t.Error("a source declared twice across programs")
	}
}

// DROP removes a source no query uses, from this program's catalog and
// from the ones after; a source a query of an earlier program reads stays.
func TestDrop(t *testing.T) {
	ddl, err := Compile(`CREATE STREAM a (k STRING KEY, v INT) WITH (KAFKA_TOPIC='a', VALUE_FORMAT='JSON');
CREATE STREAM b (k STRING KEY, v INT) WITH (KAFKA_TOPIC='b', VALUE_FORMAT='JSON');
DROP STREAM IF EXISTS nothing;
DROP STREAM b;
CREATE STREAM b (k STRING KEY, w STRING) WITH (KAFKA_TOPIC='b2', VALUE_FORMAT='JSON');`)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := ddl.Source("B"); b.Topic != "b2" || len(ddl.Sources()) != 2 {
		t.Fatalf("after DROP and CREATE: %+v, %d sources", b, len(ddl.Sources()))
	}
	q, err := Compile("CREATE STREAM o AS SELECT * FROM a;", Catalog(ddl))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile("DROP STREAM a;", Catalog(q)); err == nil || !strings.Contains(err.Error(), "cannot drop stream A") {
		t.Errorf("dropping a source an earlier program's query reads: %v", err)
	}
	d, err := Compile("DROP STREAM b;", Catalog(q))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Source("B"); ok {
		t.Error("B still in the catalog")
	}
	if _, err := Compile("CREATE STREAM p AS SELECT * FROM b;", Catalog(d)); err == nil || !strings.Contains(err.Error(), "B does not exist") {
		t.Errorf("a query of a dropped source: %v", err)
	}
}
