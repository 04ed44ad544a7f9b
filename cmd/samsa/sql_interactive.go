package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/samsa-go/samsa/kafkatest"
	"github.com/samsa-go/samsa/runtime"
	"github.com/samsa-go/samsa/sql"
)

// sqlSession runs statements one at a time, as ksqlDB's CLI does: each
// persistent query (CREATE ... AS SELECT, INSERT INTO) and each push query
// runs as an application of its own, compiled against the sources of the
// statements before it (sql.Catalog); a pull query is answered from the
// application that computes its table.
type sqlSession struct {
	ctx    context.Context
	addrs  []string
	broker *kafkatest.Broker // the embedded one, to create topics on; nil with -brokers
	appID  string
	out    io.Writer // shared by the push queries' printers: serialized
	stderr io.Writer
	logger *slog.Logger
	// guarantee is every query's processing guarantee.
	guarantee runtime.Guarantee
	stateDir  string

	prog   *sql.Program            // every statement so far; nil before the first
	owners map[string]*runtime.App // table name: the application computing it
	n      int                     // applications started
	wg     sync.WaitGroup          // of the applications and printers
	failed bool
}

// lockedWriter serializes the writes of the session and its printers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// interactive reads statements from in until EOF or ctx ends. At EOF
// with queries running, they run on until ctx ends, so that piped
// statements see their rows printed.
func interactive(ctx context.Context, s *sqlSession, in io.Reader) int {
	prompt := ""
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		prompt = "samsa> "
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	var split stmtSplitter
	fmt.Fprint(s.out, prompt)
	for {
		select {
		case <-ctx.Done():
			s.wait()
			return s.code()
		case line, ok := <-lines:
			if !ok {
				if rest := strings.TrimSpace(split.pending()); rest != "" {
					fmt.Fprintf(s.stderr, "samsa: end of input inside a statement (missing ';'): %s\n", rest)
					s.failed = true
				}
				if s.n > 0 {
					fmt.Fprintln(s.out, "samsa: end of input; the queries run until interrupted")
					<-ctx.Done()
				}
				s.wait()
				return s.code()
			}
			for _, stmt := range split.add(line) {
				s.exec(stmt)
			}
			fmt.Fprint(s.out, prompt)
		}
	}
}

func (s *sqlSession) code() int {
	if s.failed {
		return exitFail
	}
	return exitOK
}

func (s *sqlSession) wait() { s.wg.Wait() }

// errorf reports a statement's error; the session goes on.
func (s *sqlSession) errorf(format string, args ...any) {
	fmt.Fprintf(s.stderr, "samsa: "+format+"\n", args...)
	s.failed = true
}

// exec runs one statement.
func (s *sqlSession) exec(stmt string) {
	stmts, err := sql.Parse(stmt)
	if err != nil {
		s.errorf("%v", err)
		return
	}
	if len(stmts) != 1 {
		return // a lone ';' or a comment
	}
	if _, ok := stmts[0].(*sql.PullQuery); ok {
		s.pull(stmt)
		return
	}
	var opts []sql.Option
	if s.prog != nil {
		opts = append(opts, sql.Catalog(s.prog))
	}
	prog, err := sql.Compile(stmt, opts...)
	if err != nil {
		s.errorf("%v", err)
		return
	}
	before := map[string]bool{}
	if s.prog != nil {
		for _, src := range s.prog.Sources() {
			before[src.Name] = true
		}
	}
	var created []*sql.Source
	for _, src := range prog.Sources() {
		if !before[src.Name] {
			created = append(created, src)
		}
	}
	if s.broker != nil {
		for _, src := range append(created, prog.PushQueries()...) {
			if err := s.broker.CreateTopic(src.Topic, int32(max(src.Partitions, 1))); err != nil {
				s.errorf("create topic %s: %v", src.Topic, err)
				return
			}
		}
	}
	if prog.Explained() {
		fmt.Fprint(s.out, prog.Explain())
		return // EXPLAIN shows the plan and runs nothing, as in ksqlDB
	}
	if s.prog != nil {
		for _, src := range s.prog.Sources() {
			if _, ok := prog.Source(src.Name); !ok {
				fmt.Fprintf(s.out, "samsa: %s %s dropped\n", kindOf(src), src.Name)
			}
		}
	}
	s.prog = prog
	if set, ok := stmts[0].(*sql.SetProperty); ok {
		fmt.Fprintf(s.out, "samsa: property %s %s\n", set.Name, map[bool]string{true: "unset", false: "set to " + set.Value}[set.Unset])
		return
	}
	if prog.Topology() == nil {
		for _, src := range created {
			fmt.Fprintf(s.out, "samsa: %s %s declared\n", kindOf(src), src.Name)
		}
		return
	}
	s.n++
	id := fmt.Sprintf("%s-query-%d", s.appID, s.n)
	app, err := runtime.New(prog.Topology(), runtime.ApplicationID(id), runtime.Brokers(s.addrs...), runtime.Logger(s.logger), runtime.ProcessingGuarantee(s.guarantee), runtime.StateDir(s.stateDir))
	if err != nil {
		s.errorf("%v", err)
		return
	}
	for _, src := range created {
		s.owners[src.Name] = app
		fmt.Fprintf(s.out, "samsa: %s %s created; query %s running\n", kindOf(src), src.Name, id)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := app.Run(s.ctx); err != nil {
			fmt.Fprintf(s.stderr, "samsa: query %s: %v\n", id, err)
		}
	}()
	if push := prog.PushQueries(); len(push) > 0 {
		fmt.Fprintf(s.out, "samsa: push query %s running; its rows follow\n", push[0].Name)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			printPush(s.ctx, s.addrs, push, s.out, s.stderr)
		}()
	}
}

// pull answers a pull query from the application computing its table.
func (s *sqlSession) pull(stmt string) {
	if s.prog == nil {
		s.errorf("%s", strings.TrimSpace(stmt)+": no table declared yet")
		return
	}
	q, err := s.prog.Pull(stmt)
	if err != nil {
		s.errorf("%v", err)
		return
	}
	app := s.owners[q.Table().Name]
	if app == nil {
		s.errorf("pull query: no query of this session computes %s", q.Table().Name)
		return
	}
	rows, err := q.Execute(app)
	switch {
	case errors.Is(err, runtime.ErrRebalancing), errors.Is(err, runtime.ErrNotRunning):
		// Not the statement's fault: the answer comes once the query runs.
		fmt.Fprintf(s.stderr, "samsa: %v (the query is starting; try again)\n", err)
		return
	case err != nil:
		s.errorf("%v", err)
		return
	}
	for _, r := range rows {
		fmt.Fprintln(s.out, q.Render(r))
	}
	fmt.Fprintf(s.out, "(%d rows)\n", len(rows))
}

func kindOf(s *sql.Source) string {
	if s.Table {
		return "table"
	}
	return "stream"
}

// stmtSplitter cuts lines into statements at each ';' outside quotes and
// comments.
type stmtSplitter struct {
	buf    strings.Builder
	quote  byte // the open quote, or 0
	blockC bool // inside /* */
}

func (p *stmtSplitter) pending() string { return p.buf.String() }

// add takes one line and returns the statements it completes.
func (p *stmtSplitter) add(line string) []string {
	var out []string
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case p.blockC:
			if c == '*' && i+1 < len(line) && line[i+1] == '/' {
				p.blockC = false
				p.buf.WriteString("*/")
				i++
				continue
			}
		case p.quote != 0:
			if c == p.quote {
				p.quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			p.quote = c
		case c == '-' && i+1 < len(line) && line[i+1] == '-':
			i = len(line) // the rest of the line is a comment
			continue
		case c == '/' && i+1 < len(line) && line[i+1] == '*':
			p.blockC = true
		case c == ';':
			p.buf.WriteByte(';')
			if st := strings.TrimSpace(p.buf.String()); st != ";" {
				out = append(out, st)
			}
			p.buf.Reset()
			continue
		}
		p.buf.WriteByte(c)
	}
	if p.buf.Len() > 0 {
		p.buf.WriteByte('\n')
	}
	return out
}
