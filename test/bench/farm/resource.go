package farm

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// family is a metric family of /metrics/resource as kubelet v1.3x writes
// it; families come in name order.
type family struct {
	name, help, typ string
}

var (
	famContainerCPU    = family{"container_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the container in core-seconds", "counter"}
	famContainerMemory = family{"container_memory_working_set_bytes", "[STABLE] Current working set of the container in bytes", "gauge"}
	famContainerStart  = family{"container_start_time_seconds", "[STABLE] Start time of the container since unix epoch in seconds", "gauge"}
	famContainerSwap   = family{"container_swap_usage_bytes", "[ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems", "gauge"}
	famNodeCPU         = family{"node_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the node in core-seconds", "counter"}
	famNodeMemory      = family{"node_memory_working_set_bytes", "[STABLE] Current working set of the node in bytes", "gauge"}
	famNodeSwap        = family{"node_swap_usage_bytes", "[ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems", "gauge"}
	famPodCPU          = family{"pod_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", "counter"}
	famPodMemory       = family{"pod_memory_working_set_bytes", "[STABLE] Current working set of the pod in bytes", "gauge"}
	famPodSwap         = family{"pod_swap_usage_bytes", "[ALPHA] Current amount of the pod swap usage in bytes. Reported only on non-windows systems", "gauge"}
	famScrapeError     = family{"resource_scrape_error", "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", "gauge"}
)

func appendHeader(b []byte, f family) []byte {
	b = append(b, "# HELP "...)
	b = append(b, f.name...)
	b = append(b, ' ')
	b = append(b, f.help...)
	b = append(b, "\n# TYPE "...)
	b = append(b, f.name...)
	b = append(b, ' ')
	b = append(b, f.typ...)
	return append(b, '\n')
}

// appendSample appends " <value> <timestamp ms>\n".
func appendSample(b []byte, v float64, ts time.Time) []byte {
	b = append(b, ' ')
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	b = append(b, ' ')
	b = strconv.AppendInt(b, ts.UnixMilli(), 10)
	return append(b, '\n')
}

func appendContainerLabels(b []byte, name string, c *container, p *pod) []byte {
	b = append(b, name...)
	b = append(b, `{container="`...)
	b = append(b, c.name...)
	b = append(b, `",namespace="`...)
	b = append(b, p.ref.Namespace...)
	b = append(b, `",pod="`...)
	b = append(b, p.ref.Name...)
	return append(b, `"}`...)
}

func appendPodLabels(b []byte, name string, p *pod) []byte {
	b = append(b, name...)
	b = append(b, `{namespace="`...)
	b = append(b, p.ref.Namespace...)
	b = append(b, `",pod="`...)
	b = append(b, p.ref.Name...)
	return append(b, `"}`...)
}

func seconds(nanos uint64) float64 { return float64(nanos) / 1e9 }

// sampleTime is the node's sample time: now to the millisecond.
func sampleTime(now time.Time) time.Time { return now.Truncate(time.Millisecond) }

// podContainer is a container with its pod.
type podContainer struct {
	c *container
	p *pod
}

// containersByName are the node's containers sorted by container name,
// namespace and pod, the kubelet's order of series.
func (n *node) containersByName() []podContainer {
	var out []podContainer
	for _, p := range n.pods {
		for _, c := range p.containers {
			out = append(out, podContainer{c, p})
		}
	}
	slices.SortStableFunc(out, func(a, b podContainer) int { return cmp.Compare(a.c.name, b.c.name) })
	return out
}

// resourceMetricsLocked appends the node's /metrics/resource body at now
// to b. Series of a family are sorted by their label values, container
// first, as the kubelet sorts them.
func (n *node) resourceMetricsLocked(now time.Time, b []byte) []byte {
	t := sampleTime(now)
	ctrs := n.containersByName()
	eachContainer := func(fn func(c *container, p *pod)) {
		for _, pc := range ctrs {
			fn(pc.c, pc.p)
		}
	}

	b = appendHeader(b, famContainerCPU)
	eachContainer(func(c *container, p *pod) {
		ts := t.Add(-c.offset)
		b = appendContainerLabels(b, famContainerCPU.name, c, p)
		b = appendSample(b, seconds(c.cpu.at(ts)), ts)
	})
	b = appendHeader(b, famContainerMemory)
	eachContainer(func(c *container, p *pod) {
		b = appendContainerLabels(b, famContainerMemory.name, c, p)
		b = appendSample(b, float64(c.memory), t.Add(-c.offset))
	})
	b = appendHeader(b, famContainerStart)
	eachContainer(func(c *container, p *pod) {
		b = appendContainerLabels(b, famContainerStart.name, c, p)
		b = appendSample(b, float64(c.startTime.UnixNano())/1e9, c.startTime)
	})
	b = appendHeader(b, famContainerSwap)
	eachContainer(func(c *container, p *pod) {
		b = appendContainerLabels(b, famContainerSwap.name, c, p)
		b = appendSample(b, float64(swapOf(c.memory)), t.Add(-c.offset))
	})

	tot := n.totalsLocked(t)
	b = appendHeader(b, famNodeCPU)
	b = append(b, famNodeCPU.name...)
	b = appendSample(b, seconds(tot.cpu), t)
	b = appendHeader(b, famNodeMemory)
	b = append(b, famNodeMemory.name...)
	b = appendSample(b, float64(tot.memory), t)
	b = appendHeader(b, famNodeSwap)
	b = append(b, famNodeSwap.name...)
	b = appendSample(b, float64(tot.swap), t)

	b = appendHeader(b, famPodCPU)
	for _, p := range n.pods {
		ts := p.sampleTime(t)
		var cpu uint64
		for _, c := range p.containers {
			cpu += c.cpu.at(ts)
		}
		b = appendPodLabels(b, famPodCPU.name, p)
		b = appendSample(b, seconds(cpu), ts)
	}
	b = appendHeader(b, famPodMemory)
	for _, p := range n.pods {
		var mem uint64
		for _, c := range p.containers {
			mem += c.memory
		}
		b = appendPodLabels(b, famPodMemory.name, p)
		b = appendSample(b, float64(mem), p.sampleTime(t))
	}
	b = appendHeader(b, famPodSwap)
	for _, p := range n.pods {
		var swap uint64
		for _, c := range p.containers {
			swap += swapOf(c.memory)
		}
		b = appendPodLabels(b, famPodSwap.name, p)
		b = appendSample(b, float64(swap), p.sampleTime(t))
	}
	b = appendHeader(b, famScrapeError)
	b = append(b, famScrapeError.name...)
	b = append(b, " 0\n"...)
	return b
}

// sampleTime of a pod is that of its first container.
func (p *pod) sampleTime(t time.Time) time.Time {
	if len(p.containers) == 0 {
		return t
	}
	return t.Add(-p.containers[0].offset)
}
