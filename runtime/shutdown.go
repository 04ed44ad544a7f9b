package runtime

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Bounded shutdown. Once Run's context is cancelled or Close is called,
// every step of the close (the threads' last commit, the end of their
// transactions, leaving the group, closing their clients) runs under one
// shutdown context, whose deadline is ShutdownTimeout away, or Close's
// deadline if that is sooner. A step still running then is abandoned: a
// join waiting for a dead member, a commit the coordinator does not answer.
// The group notices a member it was not told about at its session timeout;
// the brokers abort a transaction that did not end at its transaction
// timeout; the stores never saw it, since they apply a transaction's writes
// only once it committed.

// shutdown is the context the close runs under, made once.
type shutdown struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	// abandoned is closed once ctx is done; New makes it.
	abandoned chan struct{}
}

// begin starts the shutdown, bounded by ShutdownTimeout and by caller's
// deadline, and cancelled when caller is; the first call decides.
func (a *App) beginShutdown(caller context.Context) context.Context {
	s := &a.shutdown
	s.once.Do(func() {
		deadline := time.Now().Add(a.cfg.shutdownTimeout)
		if d, ok := caller.Deadline(); ok && d.Before(deadline) {
			// Leave the caller a moment to see Run return before its
			// own deadline passes.
			margin := min(time.Until(d)/10, 500*time.Millisecond)
			deadline = d.Add(-margin)
		}
		s.ctx, s.cancel = context.WithDeadline(context.Background(), deadline)
		context.AfterFunc(caller, s.cancel)
		context.AfterFunc(s.ctx, func() { close(s.abandoned) })
	})
	return s.ctx
}

// untilAbandoned returns ctx, cancelled also once the shutdown's deadline
// passed, for work on franz-go's goroutines that the close would otherwise
// wait on. Call stop when done.
func (a *App) untilAbandoned(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-a.shutdown.abandoned:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// shutdownContext returns the context of the shutdown, beginning it if a
// failure, not Close or a cancellation, ends the app.
func (a *App) shutdownContext() context.Context { return a.beginShutdown(context.Background()) }

// leaveGrace is how long a thread waits for franz-go to leave the group
// before it tells the coordinator itself.
const leaveGrace = 250 * time.Millisecond

// closeClient leaves the group and closes the thread's client, giving up
// by ctx's deadline. franz-go leaves only once a join in flight returned,
// which a rebalance waiting for a dead member holds up to that member's
// session timeout (the join is sent on the client's context, so that a
// last commit can follow it). If the leave has not finished after
// leaveGrace, the thread sends the coordinator a LeaveGroup itself, so that
// the group goes on without it, and cancels the client's context, which
// ends the join. A client that has not closed by the deadline is left to
// finish alone.
func (t *thread) closeClient(ctx context.Context) {
	t.cl.AllowRebalance()
	member, _ := t.cl.GroupMetadata()
	left := make(chan error, 1)
	go func() { left <- t.cl.LeaveGroupContext(ctx) }()
	slow := false
	select {
	case err := <-left:
		slow = err != nil && ctx.Err() != nil
	case <-time.After(leaveGrace):
		slow = true
	}
	if slow {
		// Past the deadline there is no time left to tell the
		// coordinator: the group drops the member at its session timeout.
		if member != "" && ctx.Err() == nil {
			t.app.leaveGroup(ctx, member)
		}
		t.log.Info("leaving the group without waiting for the join in flight")
		t.cancelClient()
	}
	done := make(chan struct{})
	go func() {
		t.cl.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		select {
		case <-done:
		case <-time.After(50 * time.Millisecond):
			t.log.Warn("abandoning the thread's client: it did not close by the shutdown deadline")
			t.cancelClient()
		}
	}
}

// leaveGroup removes member from the app's group, through the admin
// client.
func (a *App) leaveGroup(ctx context.Context, member string) {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = a.cfg.appID
	req.MemberID = member
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = member
	req.Members = append(req.Members, m)
	resp, err := req.RequestWith(ctx, a.admCl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
		for _, m := range resp.Members {
			if err == nil {
				err = kerr.ErrorForCode(m.ErrorCode)
			}
		}
	}
	if err != nil && ctx.Err() == nil {
		a.log.Warn("leaving the group for a thread whose join is in flight", "member", member, "err", err)
	}
}
