package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, as the go command uses them.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// A command is one subcommand of samsa. run receives the arguments after
// the command name and returns the exit code; it returns when it is done or
// soon after ctx is cancelled.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order usage shows them. help is
// handled by run, because it lists this table.
var commands = []command{
	{name: "broker", summary: "run an in-process Kafka broker for development", run: runBroker},
	{name: "describe", summary: "print a topology, or an application's group members and tasks", run: runDescribe},
	{name: "lag", summary: "print an application's lag per task and input partition", run: runLag},
	{name: "reset", summary: "reset an application to reprocess its input", run: runReset},
	{name: "sql", summary: "run streaming SQL statements from a file or typed in, or print their topology", run: runSQL},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills the process as usual
		// rather than waiting for a clean shutdown.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is samsa with its process state passed in, so that tests can call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, args := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		return help(ctx, args, stdout, stderr)
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "samsa: unknown command %q\n", name)
		usage(stderr)
		return exitUsage
	}
	return c.run(ctx, args, stdin, stdout, stderr)
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// help prints usage, or with a command name that command's flags.
func help(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		usage(stdout)
		return exitOK
	case 1:
		c, ok := lookup(args[0])
		if !ok {
			fmt.Fprintf(stderr, "samsa help: unknown command %q\n", args[0])
			usage(stderr)
			return exitUsage
		}
		// Every command answers -h with its flags and exit code 0.
		return c.run(ctx, []string{"-h"}, nil, stdout, stdout)
	default:
		fmt.Fprintln(stderr, "usage: samsa help [command]")
		return exitUsage
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, "Samsa is Kafka Streams for Go.\n\nUsage:\n\n\tsamsa <command> [flags] [arguments]\n\nThe commands are:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\t%-9s %s\n", "help", "show this help, or the flags of a command")
	fmt.Fprint(w, "\nUse \"samsa help <command>\" for more about a command.\n")
}
