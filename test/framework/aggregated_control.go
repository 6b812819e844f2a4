package framework

import (
	"context"
	"fmt"
	"time"
)

// Pid is the operating-system id of the server's process, for reading its
// CPU time and memory from /proc.
func (s *AggregatedServer) Pid() int { return s.proc.Pid() }

// Register points the server's APIServices at it again (another server
// may have taken them over since it started) and waits until they are
// Available.
func (s *AggregatedServer) Register(ctx context.Context, timeout time.Duration) error {
	if err := s.cluster.registerAPIs(ctx, s.Name, s.Port, s.APIs); err != nil {
		return err
	}
	if err := s.proc.WaitReady(ctx, timeout, s.available); err != nil {
		return fmt.Errorf("register %s: %w", s.proc.Name, err)
	}
	return nil
}
