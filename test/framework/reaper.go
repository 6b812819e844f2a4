package framework

import (
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
)

// live holds every process started by this program that has not been stopped,
// in start order, so that StopAll and the signal handler can end them all even
// when the code that started them never gets to its cleanup.
var live struct {
	sync.Mutex
	procs []*Process
}

func register(p *Process) {
	live.Lock()
	defer live.Unlock()
	live.procs = append(live.procs, p)
}

func unregister(p *Process) {
	live.Lock()
	defer live.Unlock()
	live.procs = slices.DeleteFunc(live.procs, func(q *Process) bool { return q == p })
}

// StopAll stops every process the harness started and has not stopped yet,
// newest first.
func StopAll() {
	live.Lock()
	procs := slices.Clone(live.procs)
	live.Unlock()
	slices.Reverse(procs)
	for _, p := range procs {
		p.Stop()
	}
}

// StopOnSignal stops every harness process and exits with status 130 when the
// program receives SIGINT or SIGTERM. Call the returned function to remove the
// handler. Meant for TestMain; long-running commands should rather use
// signal.NotifyContext and stop the cluster when the context ends.
func StopOnSignal() (remove func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			fmt.Fprintf(os.Stderr, "e2e: received %s, stopping the cluster\n", sig)
			StopAll()
			os.Exit(130)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
