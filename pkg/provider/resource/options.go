package resource

import "k8s.io/utils/clock"

// Option configures a Storage.
type Option func(*options)

// options are what the Options of a Storage chose.
type options struct {
	resources usageResources
	clock     clock.PassiveClock
}

// WithEphemeralStorage, when on, adds "ephemeral-storage" (bytes, the
// local ephemeral storage in use) to the usage of each node and container
// whose figures measured it: the HPA can then scale on it as a Resource
// metric. A container whose figures lack it is served without the key,
// never with a zero. Off, the default, serves CPU and memory only.
func WithEphemeralStorage(on bool) Option {
	return func(o *options) { o.resources.ephemeralStorage = on }
}

func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithClock sets the clock that dates continue tokens and tells when they
// expire; the real clock is the default.
func WithClock(c clock.PassiveClock) Option {
	return func(o *options) { o.clock = c }
}
