package framework

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWaitFor(t *testing.T) {
	t.Run("returns once the condition holds, retrying errors", func(t *testing.T) {
		calls := 0
		err := WaitFor(context.Background(), time.Minute, time.Millisecond, func() (bool, error) {
			calls++
			switch calls {
			case 1:
				return false, errors.New("not up yet")
			case 2:
				return false, nil
			}
			return true, nil
		})
		if err != nil || calls != 3 {
			t.Errorf("err = %v after %d calls, want nil after 3", err, calls)
		}
	})

	t.Run("times out with the last error", func(t *testing.T) {
		err := WaitFor(context.Background(), 20*time.Millisecond, time.Millisecond, func() (bool, error) {
			return false, errors.New("connection refused")
		})
		if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "timed out after 20ms") {
			t.Errorf("err = %v, want a timeout quoting the last error", err)
		}
	})

	t.Run("stops when the parent context ends, with its cause", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errors.New("etcd exited"))
		err := WaitFor(ctx, time.Minute, time.Millisecond, func() (bool, error) { return false, nil })
		if err == nil || !strings.Contains(err.Error(), "etcd exited") {
			t.Errorf("err = %v, want the cause", err)
		}
	})
}
