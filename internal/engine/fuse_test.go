package engine

import (
	"reflect"
	"testing"

	"github.com/samsa-go/samsa/processor"
)

type lastRecord[K, V any] struct{ rec processor.Record[K, V] }

func (l *lastRecord[K, V]) Process(rec processor.Record[K, V]) error {
	l.rec = rec
	return nil
}

// run.Process copies the record into the run field by field; a field added
// to processor.Record must be added there too.
func TestRunCopiesEveryField(t *testing.T) {
	var in processor.Record[string, string]
	v := reflect.ValueOf(&in).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name)
		case reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		default:
			t.Fatalf("field %s of kind %s: teach this test to set it", v.Type().Field(i).Name, f.Kind())
		}
	}
	var out lastRecord[string, string]
	pass := func(*processor.Record[string, string]) bool { return true }
	node := &Node{Name: "n"}
	r := &run[string, string]{t: &Task{}, steps: []step[string, string]{{fn: pass, node: node}}, tail: &out, tailNode: node}
	if err := r.Process(in); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.rec, in) {
		t.Fatalf("run passed on %+v, want %+v", out.rec, in)
	}
}
