// Package flagenv reads the settings of Samsa's example programs from
// their flags and, for each flag not given, from its environment variable:
// a flag beats its variable, which beats the default. Errors name the flag
// or the variable, and its value.
package flagenv

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ErrUsage is a flag error the flag package has already printed, with the
// usage.
var ErrUsage = errors.New("usage error")

// BrokerList is a flag value: a comma-separated host:port list.
type BrokerList []string

func (b *BrokerList) String() string { return strings.Join(*b, ",") }

func (b *BrokerList) Set(v string) error {
	*b = nil
	for a := range strings.SplitSeq(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*b = append(*b, a)
		}
	}
	if len(*b) == 0 && strings.TrimSpace(v) != "" {
		return errors.New("lists no brokers")
	}
	return nil
}

// Millis is a flag value that sets *D from a Go duration, and from the
// environment (SetMillis) in milliseconds, as the runtime's *_MS
// variables are.
type Millis struct{ D *time.Duration }

func (m Millis) String() string {
	if m.D == nil || *m.D == 0 {
		return ""
	}
	return m.D.String()
}

func (m Millis) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return errors.New("not a positive duration such as 10s")
	}
	*m.D = d
	return nil
}

// SetMillis sets *D from a positive number of milliseconds.
func (m Millis) SetMillis(v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 1 {
		return errors.New("not a positive number of milliseconds")
	}
	*m.D = time.Duration(n) * time.Millisecond
	return nil
}

// Setting ties a flag to the environment variable read when the flag is
// not given.
type Setting struct {
	Flag, Env string
	// Want says what a valid value is, for errors.
	Want string
	// FromEnv converts the variable's value; nil passes it to the flag.
	FromEnv func(string) error
}

// Parse parses args into fs, then sets every flag of settings that args
// did not give from its variable, read with getenv. A parse error the
// flag package printed comes back as ErrUsage (flag.ErrHelp as itself);
// arguments left over are an error.
func Parse(fs *flag.FlagSet, args []string, settings []Setting, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range settings {
		v := getenv(s.Env)
		if given[s.Flag] || v == "" {
			continue
		}
		set := s.FromEnv
		if set == nil {
			set = func(v string) error { return fs.Set(s.Flag, v) }
		}
		if err := set(v); err != nil {
			return fmt.Errorf("%s=%q is not %s", s.Env, v, s.Want)
		}
	}
	return nil
}

// PrintVariables writes one line per setting: the flag and its variable.
func PrintVariables(w io.Writer, settings []Setting) {
	for _, s := range settings {
		fmt.Fprintf(w, "  -%-22s %s\n", s.Flag, s.Env)
	}
}
