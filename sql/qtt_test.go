package sql

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/samsa-go/samsa/serde"
	"github.com/samsa-go/samsa/testdriver"
)

// The conformance suite: ksqlDB's query-validation tests (QTT), read in
// place from ../shared/ksqldb-qtt beside the project (SAMSA_QTT_DIR
// overrides), never copied here. Every case of the files below runs; the
// outcome of each case that does not pass is recorded in
// testdata/qtt_known.txt as "<file>#<index> <fail|skip> <reason>", so the
// test fails when a case regresses (passes no longer, or changes from skip
// to fail) and when a recorded case starts passing (run with -update-qtt to
// rewrite the list after checking the change).
var qttFiles = []string{
	"average.json",
	"binary-comparison.json",
	"cast.json",
	"collect-list.json",
	"comparison-expression.json",
	"complex-lambda.json",
	"concat.json",
	"count.json",
	"delimited.json",
	"drop_source.json",
	"earliest-offset-udaf.json",
	"explode.json",
	"filter.json",
	"fk-join.json",
	"formats.json",
	"group-by.json",
	"identifiers.json",
	"in.json",
	"insert-into.json",
	"join-with-custom-timestamp.json",
	"joins.json",
	"json.json",
	"kafka.json",
	"key-schemas.json",
	"latest-offset-udaf.json",
	"len.json",
	"literals.json",
	"math.json",
	"min-group-by.json",
	"multi-col-keys.json",
	"multi-joins.json",
	"null.json",
	"operators.json",
	"partition-by.json",
	"project-filter.json",
	"quoted-identifiers.json",
	"reduce-array.json",
	"reduce-map.json",
	"row-offset-and-partition.json",
	"select.json",
	"source-stream.json",
	"source-table.json",
	"split.json",
	"stream-table-join.json",
	"string.json",
	"stringtimestamp.json",
	"sum.json",
	"suppress.json",
	"table-functions.json",
	"table.json",
	"timestamp-extractor.json",
	"timestamp-to-string.json",
	"transform-array.json",
	"transform-map.json",
	"tumbling-windows.json",
	"window-bounds.json",
	"windowed-source.json",
}

var updateQTT = flag.Bool("update-qtt", false, "rewrite testdata/qtt_known.txt from this run")

type qttFile struct {
	Tests []qttCase `json:"tests"`
}

type qttCase struct {
	Name              string            `json:"name"`
	Formats           []string          `json:"format"`
	Configs           []string          `json:"config"`
	Statements        []string          `json:"statements"`
	Inputs            []qttRecord       `json:"inputs"`
	Outputs           []qttRecord       `json:"outputs"`
	Properties        map[string]any    `json:"properties"`
	ExpectedException *json.RawMessage  `json:"expectedException"`
	Enabled           *bool             `json:"enabled"`
	Topics            []json.RawMessage `json:"topics"`
}

type qttRecord struct {
	Topic     string          `json:"topic"`
	Key       json.RawMessage `json:"key"`
	Value     json.RawMessage `json:"value"`
	Timestamp *int64          `json:"timestamp"`
	Window    *struct {
		Start int64 `json:"start"`
		End   int64 `json:"end"`
	} `json:"window"`
	Headers json.RawMessage `json:"headers"`
}

type outcome struct {
	status string // pass, fail, skip
	reason string
}

func qttDir(t *testing.T) string {
	if d := os.Getenv("SAMSA_QTT_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "ksqldb-qtt")
}

func TestQTT(t *testing.T) {
	dir := qttDir(t)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("ksqlDB QTT files not found at %s (set SAMSA_QTT_DIR): skipping the conformance suite", dir)
	}
	known := readKnown(t)
	got := map[string]outcome{}
	var totPass, totFail, totSkip int
	var report strings.Builder
	for _, f := range qttFiles {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		var file qttFile
		if err := json.Unmarshal(stripComments(raw), &file); err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		var pass, fail, skip int
		skips := map[string]int{}
		idx := 0
		for _, c := range file.Tests {
			for _, v := range expand(c) {
				id := fmt.Sprintf("%s#%d", f, idx)
				idx++
				o := runCase(t, v)
				got[id] = o
				switch o.status {
				case "pass":
					pass++
				case "fail":
					fail++
					if testing.Verbose() && os.Getenv("QTT_SHOW") != "" {
						t.Logf("%s %q: %s", id, v.Name, o.reason)
					}
				default:
					skip++
					skips[o.reason]++
				}
			}
		}
		totPass, totFail, totSkip = totPass+pass, totFail+fail, totSkip+skip
		n := pass + fail + skip
		fmt.Fprintf(&report, "%-32s %3d cases: %3d passed, %3d failed, %3d skipped (%5.1f%%)\n", f, n, pass, fail, skip, pct(pass, n))
		var sk []string
		for r, k := range skips {
			sk = append(sk, fmt.Sprintf("%s (%d)", r, k))
		}
		sort.Strings(sk)
		for _, s := range sk {
			fmt.Fprintf(&report, "    skipped: %s\n", s)
		}
	}
	n := totPass + totFail + totSkip
	fmt.Fprintf(&report, "TOTAL %d cases: %d passed, %d failed, %d skipped: %.1f%% of all cases pass, %.1f%% of those run\n",
		n, totPass, totFail, totSkip, pct(totPass, n), pct(totPass, totPass+totFail))
	t.Log("\n" + report.String())
	if *updateQTT {
		writeKnown(t, got)
		return
	}
	var bad []string
	for id, o := range got {
		k, listed := known[id]
		switch {
		case o.status == "pass" && listed:
			bad = append(bad, fmt.Sprintf("%s now passes (was %s): update testdata/qtt_known.txt with -update-qtt", id, k.status))
		case o.status != "pass" && !listed:
			bad = append(bad, fmt.Sprintf("%s regressed: %s: %s", id, o.status, o.reason))
		case o.status != "pass" && k.status != o.status:
			bad = append(bad, fmt.Sprintf("%s changed from %s to %s: %s", id, k.status, o.status, o.reason))
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

func pct(a, n int) float64 {
	if n == 0 {
		return 0
	}
	return 100 * float64(a) / float64(n)
}

const knownPath = "testdata/qtt_known.txt"

func readKnown(t *testing.T) map[string]outcome {
	out := map[string]outcome{}
	b, err := os.ReadFile(knownPath)
	if err != nil {
		if os.IsNotExist(err) {
			return out
		}
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		if len(f) < 2 {
			t.Fatalf("%s: bad line %q", knownPath, line)
		}
		o := outcome{status: f[1]}
		if len(f) == 3 {
			o.reason = f[2]
		}
		out[f[0]] = o
	}
	return out
}

func writeKnown(t *testing.T, got map[string]outcome) {
	var ids []string
	for id, o := range got {
		if o.status != "pass" {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		fi, ni := splitID(ids[i])
		fj, nj := splitID(ids[j])
		if fi != fj {
			return fi < fj
		}
		return ni < nj
	})
	var b strings.Builder
	b.WriteString("# QTT cases that do not pass: <file>#<case index> <fail|skip> <why>. Generated by\n")
	b.WriteString("# go test ./sql -run TestQTT -update-qtt; every case not listed must pass.\n")
	for _, id := range ids {
		r := strings.ReplaceAll(got[id].reason, "\n", " ")
		if len(r) > 160 {
			r = r[:160]
		}
		fmt.Fprintf(&b, "%s %s %s\n", id, got[id].status, r)
	}
	if err := os.WriteFile(knownPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func splitID(id string) (string, int) {
	f, n, _ := strings.Cut(id, "#")
	var i int
	fmt.Sscan(n, &i)
	return f, i
}

// stripComments drops whole-line // comments, which the QTT files carry.
func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("//")) {
			out.WriteByte('\n')
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// expand turns a case with a "format" list into one case per format.
func expand(c qttCase) []qttCase {
	var out []qttCase
	if len(c.Formats) == 0 {
		out = []qttCase{c}
	}
	for _, f := range c.Formats {
		v := c
		v.Name = c.Name + " - " + f
		v.Statements = nil
		for _, s := range c.Statements {
			v.Statements = append(v.Statements, strings.ReplaceAll(s, "{FORMAT}", f))
		}
		out = append(out, v)
	}
	if len(c.Configs) == 0 {
		return out
	}
	// A case with a config list runs once per value, which replaces
	// {CONFIG} in its property values.
	var all []qttCase
	for _, v := range out {
		for _, cfg := range c.Configs {
			w := v
			w.Name = v.Name + " - " + cfg
			w.Properties = map[string]any{}
			for k, p := range v.Properties {
				if ps, ok := p.(string); ok {
					p = strings.ReplaceAll(ps, "{CONFIG}", cfg)
				}
				w.Properties[k] = p
			}
			all = append(all, w)
		}
	}
	return all
}

// fatal is how a driver failure surfaces inside runCase.
type fatal struct{ msg string }

// caseTB lets the test driver report through the case instead of failing
// the whole suite.
type caseTB struct {
	testing.TB
}

func (c caseTB) Helper()                           {}
func (c caseTB) Fatalf(format string, args ...any) { panic(fatal{fmt.Sprintf(format, args...)}) }
func (c caseTB) Fatal(args ...any)                 { panic(fatal{fmt.Sprint(args...)}) }
func (c caseTB) Errorf(format string, args ...any) { panic(fatal{fmt.Sprintf(format, args...)}) }
func (c caseTB) Error(args ...any)                 { panic(fatal{fmt.Sprint(args...)}) }

var ignoredProps = map[string]bool{
	"ksql.streams.__emit.interval.ms.kstreams.windowed.aggregation__": true,
}

func runCase(t *testing.T, c qttCase) (o outcome) {
	if c.Enabled != nil && !*c.Enabled {
		return outcome{"skip", "disabled in the QTT file"}
	}
	var opts []Option
	for k, v := range c.Properties {
		switch {
		case ignoredProps[k]:
		case honoured[k]:
			opts = append(opts, WithProperty(k, fmt.Sprint(v)))
		default:
			return outcome{"skip", "property " + k}
		}
	}
	for _, in := range append(append([]qttRecord(nil), c.Inputs...), c.Outputs...) {
		if len(in.Headers) > 0 && string(in.Headers) != "null" {
			return outcome{"skip", "record headers"}
		}
	}
	prog, err := Compile(strings.Join(c.Statements, "\n"), opts...)
	if err != nil {
		if errors.Is(err, ErrNotSupported) {
			return outcome{"skip", trimPos(err)}
		}
		if c.ExpectedException != nil {
			return outcome{"pass", ""}
		}
		return outcome{"fail", "compile: " + err.Error()}
	}
	if prog.Topology() == nil {
		// Declarations alone run nothing; a case of them expects an
		// error, as it did when an empty topology failed to build.
		if c.ExpectedException != nil {
			return outcome{"pass", ""}
		}
		return outcome{"fail", "compile: the statements declare sources and run no query"}
	}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			if c.ExpectedException != nil {
				o = outcome{"pass", ""}
				return
			}
			o = outcome{"fail", "run: " + f.msg}
		}
	}()
	var dopts []testdriver.Option
	for _, s := range prog.Sources() {
		if s.Partitions > 1 {
			dopts = append(dopts, testdriver.WithPartitions(s.Partitions, s.Topic))
		}
	}
	td := testdriver.New(caseTB{t}, prog.Topology(), dopts...)
	defer td.Close()
	for _, in := range c.Inputs {
		src, ok := prog.SourceForTopic(in.Topic)
		if !ok {
			return outcome{"fail", "input topic " + in.Topic + " has no source"}
		}
		key, err := encode(src.KeyFormat, src.keySerde, in.Key)
		if err != nil {
			return outcome{"fail", "input key: " + err.Error()}
		}
		if src.Window != "" && in.Window != nil && key != nil {
			// A windowed source's keys end with their window, as
			// Kafka Streams' windowed serdes write it.
			if src.Window == "SESSION" {
				key = binary.BigEndian.AppendUint64(key, uint64(in.Window.End))
			}
			key = binary.BigEndian.AppendUint64(key, uint64(in.Window.Start))
		}
		val, err := encode(src.ValueFormat, src.valueSerde, in.Value)
		if err != nil {
			return outcome{"fail", "input value: " + err.Error()}
		}
		var ts int64
		if in.Timestamp != nil {
			ts = *in.Timestamp
		}
		topic := testdriver.InputTopic(td, in.Topic, serde.Bytes, serde.Bytes)
		if err := topic.TryPipeBytes(key, val, time.UnixMilli(ts)); err != nil {
			if c.ExpectedException != nil {
				return outcome{"pass", ""}
			}
			return outcome{"fail", "pipe: " + err.Error()}
		}
	}
	if c.ExpectedException != nil {
		return outcome{"fail", "expected an exception; the statements ran"}
	}
	want := map[string][]qttRecord{}
	var topics []string
	for _, out := range c.Outputs {
		if _, ok := want[out.Topic]; !ok {
			topics = append(topics, out.Topic)
		}
		want[out.Topic] = append(want[out.Topic], out)
	}
	for _, topic := range topics {
		src, ok := prog.SourceForTopic(topic)
		if !ok {
			return outcome{"fail", "output topic " + topic + " has no source"}
		}
		reader := testdriver.OutputTopic(td, topic, serde.Bytes, serde.Bytes)
		var got []qttActual
		for reader.QueueSize() > 0 {
			r := reader.ReadRecord()
			a := qttActual{ts: r.Timestamp}
			if !r.NullKey {
				a.key = r.Key
			}
			if !r.NullValue {
				a.value = r.Value
			}
			got = append(got, a)
		}
		exp := want[topic]
		for i := 0; i < len(exp) || i < len(got); i++ {
			if i >= len(got) {
				return outcome{"fail", fmt.Sprintf("topic %s: %d records, expected %d; first missing: key %s value %s", topic, len(got), len(exp), exp[i].Key, exp[i].Value)}
			}
			if i >= len(exp) {
				return outcome{"fail", fmt.Sprintf("topic %s: %d records, expected %d; first extra: %s", topic, len(got), len(exp), show(src, got[i]))}
			}
			if why := match(src, exp[i], got[i]); why != "" {
				return outcome{"fail", fmt.Sprintf("topic %s record %d: %s", topic, i, why)}
			}
		}
	}
	return outcome{"pass", ""}
}

func trimPos(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}

type qttActual struct {
	key, value []byte
	ts         int64
}

// encode turns a QTT record's key or value into the bytes its source's
// format reads.
func encode(f Format, s *rowSerde, raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch f {
	case FormatJSON:
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case FormatDelimited:
		var str string
		if err := json.Unmarshal(raw, &str); err == nil {
			return []byte(str), nil
		}
		return []byte(raw), nil
	case FormatKafka:
		if len(s.cols) == 0 {
			return []byte(raw), nil
		}
		d := jsonReader{b: raw}
		v, err := d.value(s.cols[0].Type)
		if err != nil {
			return nil, err
		}
		b, err := s.Serialize(nil, "", Row{v})
		if b == nil {
			b = []byte{} // an empty string is a key, not a null one
		}
		return b, err
	}
	return nil, fmt.Errorf("cannot encode format %s", f)
}

func show(src *Source, a qttActual) string {
	k, _ := decodeActual(src.KeyFormat, src.keySerde, stripWindow(src, a.key))
	v, _ := decodeActual(src.ValueFormat, src.valueSerde, a.value)
	kj, _ := json.Marshal(k)
	vj, _ := json.Marshal(v)
	return fmt.Sprintf("key %s value %s ts %d", kj, vj, a.ts)
}

func stripWindow(src *Source, key []byte) []byte {
	if key == nil || src.Window == "" {
		return key
	}
	n := 8
	if src.Window == "SESSION" {
		n = 16
	}
	if len(key) < n {
		return key
	}
	return key[:len(key)-n]
}

// decodeActual turns bytes a sink wrote into a JSON-shaped value to compare
// with the expectation.
func decodeActual(f Format, s *rowSerde, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	switch f {
	case FormatJSON:
		var v any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		err := d.Decode(&v)
		return v, err
	case FormatDelimited:
		return string(b), nil
	case FormatKafka:
		// A fresh serde: the source's may skip columns no query reads.
		r, err := newRowSerde(s.cols, s.format, false, true).Deserialize("", b)
		if err != nil || len(s.cols) == 0 {
			return string(b), err
		}
		v := r[0]
		if !v.Valid {
			return nil, nil
		}
		switch s.cols[0].Type.Kind {
		case Double:
			return json.Number(fmt.Sprint(v.F)), nil
		case String:
			return v.S, nil
		case Bytes:
			return base64.StdEncoding.EncodeToString([]byte(v.S)), nil
		}
		return json.Number(fmt.Sprint(v.I)), nil
	}
	return string(b), nil
}

func match(src *Source, exp qttRecord, got qttActual) string {
	if exp.Timestamp != nil && *exp.Timestamp != got.ts {
		return fmt.Sprintf("timestamp %d, expected %d (got %s)", got.ts, *exp.Timestamp, show(src, got))
	}
	key := got.key
	if exp.Window != nil {
		if src.Window == "" || key == nil {
			return "expected a windowed key"
		}
		var start, end int64
		if src.Window == "SESSION" {
			end = int64(binary.BigEndian.Uint64(key[len(key)-16:]))
			start = int64(binary.BigEndian.Uint64(key[len(key)-8:]))
		} else {
			start = int64(binary.BigEndian.Uint64(key[len(key)-8:]))
			end = start + src.WindowSize
		}
		if start != exp.Window.Start || end != exp.Window.End {
			return fmt.Sprintf("window [%d,%d), expected [%d,%d)", start, end, exp.Window.Start, exp.Window.End)
		}
	}
	key = stripWindow(src, key)
	if why := compareField("key", src.KeyFormat, src.keySerde, exp.Key, key); why != "" {
		return why + " (got " + show(src, got) + ")"
	}
	if why := compareField("value", src.ValueFormat, src.valueSerde, exp.Value, got.value); why != "" {
		return why + " (got " + show(src, got) + ")"
	}
	return ""
}

func compareField(what string, f Format, s *rowSerde, exp json.RawMessage, got []byte) string {
	if len(exp) == 0 {
		exp = json.RawMessage("null")
	}
	var want any
	d := json.NewDecoder(bytes.NewReader(exp))
	d.UseNumber()
	if err := d.Decode(&want); err != nil {
		return "bad expectation: " + err.Error()
	}
	have, err := decodeActual(f, s, got)
	if err != nil {
		return fmt.Sprintf("%s does not decode: %v", what, err)
	}
	if !jsonEqual(want, have) {
		wj, _ := json.Marshal(want)
		hj, _ := json.Marshal(have)
		return fmt.Sprintf("%s %s, expected %s", what, hj, wj)
	}
	return ""
}

func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			// ksqlDB's QTT reads expectations through the format: a
			// DECIMAL may be written "3.40" and mean 3.40.
			if s, isStr := b.(string); isStr {
				y, ok = json.Number(s), true
			} else {
				return false
			}
		}
		if x == y {
			return true
		}
		fa, e1 := x.Float64()
		fb, e2 := y.Float64()
		return e1 == nil && e2 == nil && (fa == fb || math.Abs(fa-fb) <= 1e-9*math.Max(math.Abs(fa), math.Abs(fb)))
	case map[string]any:
		// Field names match as the JSON format reads them: exactly, else
		// ignoring case (ksqlDB's QTT reads expectations through the
		// format, whose field lookup ignores case).
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok {
				for k2, v2 := range y {
					if strings.EqualFold(k, k2) {
						w, ok = v2, true
						break
					}
				}
			}
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if s, ok := a.(string); ok {
		if n, isNum := b.(json.Number); isNum {
			return jsonEqual(n, s)
		}
	}
	return a == b
}
