package farm

import (
	"encoding/json"
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

// systemCounterAt is the node's own CPU (outside pods) at t.
func (n *node) systemCounterAt(t time.Time) uint64 {
	if !t.After(n.baseTime) {
		return n.systemBase
	}
	return n.systemBase + mulDur(n.systemRate, t.Sub(n.baseTime))
}

// resourceMetricsLocked appends the node's /metrics/resource body at now
// to b. Series of a family are sorted by their label values, container
// first, as the kubelet sorts them.
func (n *node) resourceMetricsLocked(now time.Time, b []byte) []byte {
	t := sampleTime(now)
	ctrs := 0
	if len(n.pods) > 0 {
		ctrs = len(n.pods[0].containers)
	}
	eachContainer := func(fn func(c *container, p *pod)) {
		for j := range ctrs {
			for _, p := range n.pods {
				if j < len(p.containers) {
					fn(p.containers[j], p)
				}
			}
		}
	}

	b = appendHeader(b, famContainerCPU)
	eachContainer(func(c *container, p *pod) {
		ts := t.Add(-c.offset)
		b = appendContainerLabels(b, famContainerCPU.name, c, p)
		b = appendSample(b, seconds(c.counterAt(ts)), ts)
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
		b = appendSample(b, 0, t.Add(-c.offset))
	})

	var nodeCPU, nodeMemory uint64
	nodeCPU, nodeMemory = n.systemCounterAt(t), n.systemMemory
	for _, p := range n.pods {
		for _, c := range p.containers {
			nodeCPU += c.counterAt(t)
			nodeMemory += c.memory
		}
	}
	b = appendHeader(b, famNodeCPU)
	b = append(b, famNodeCPU.name...)
	b = appendSample(b, seconds(nodeCPU), t)
	b = appendHeader(b, famNodeMemory)
	b = append(b, famNodeMemory.name...)
	b = appendSample(b, float64(nodeMemory), t)
	b = appendHeader(b, famNodeSwap)
	b = append(b, famNodeSwap.name...)
	b = appendSample(b, 0, t)

	b = appendHeader(b, famPodCPU)
	for _, p := range n.pods {
		ts := p.sampleTime(t)
		var cpu uint64
		for _, c := range p.containers {
			cpu += c.counterAt(ts)
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
		b = appendPodLabels(b, famPodSwap.name, p)
		b = appendSample(b, 0, p.sampleTime(t))
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

// The /stats/summary types: the part of k8s.io/kubelet's
// pkg/apis/stats/v1alpha1 that resource-metrics scrapers read, with its
// JSON names.
type (
	// Summary is the body of /stats/summary.
	Summary struct {
		Node NodeStats  `json:"node"`
		Pods []PodStats `json:"pods"`
	}
	// NodeStats are a node's figures.
	NodeStats struct {
		NodeName  string       `json:"nodeName"`
		StartTime time.Time    `json:"startTime"`
		CPU       *CPUStats    `json:"cpu,omitempty"`
		Memory    *MemoryStats `json:"memory,omitempty"`
	}
	// PodStats are a pod's figures and its containers'.
	PodStats struct {
		PodRef     PodReference     `json:"podRef"`
		StartTime  time.Time        `json:"startTime"`
		Containers []ContainerStats `json:"containers"`
		CPU        *CPUStats        `json:"cpu,omitempty"`
		Memory     *MemoryStats     `json:"memory,omitempty"`
	}
	// PodReference names a pod.
	PodReference struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
	}
	// ContainerStats are a container's figures.
	ContainerStats struct {
		Name      string       `json:"name"`
		StartTime time.Time    `json:"startTime"`
		CPU       *CPUStats    `json:"cpu,omitempty"`
		Memory    *MemoryStats `json:"memory,omitempty"`
	}
	// CPUStats are CPU figures at Time.
	CPUStats struct {
		Time                 time.Time `json:"time"`
		UsageNanoCores       *uint64   `json:"usageNanoCores,omitempty"`
		UsageCoreNanoSeconds *uint64   `json:"usageCoreNanoSeconds,omitempty"`
	}
	// MemoryStats are memory figures at Time.
	MemoryStats struct {
		Time            time.Time `json:"time"`
		UsageBytes      *uint64   `json:"usageBytes,omitempty"`
		WorkingSetBytes *uint64   `json:"workingSetBytes,omitempty"`
		RSSBytes        *uint64   `json:"rssBytes,omitempty"`
	}
)

// kubeletTime is a time as the kubelet's JSON has it (metav1.Time: RFC
// 3339, whole seconds, UTC).
func kubeletTime(t time.Time) time.Time { return t.Truncate(time.Second).UTC() }

func cpuStats(t time.Time, rate, counter uint64) *CPUStats {
	return &CPUStats{Time: kubeletTime(t), UsageNanoCores: &rate, UsageCoreNanoSeconds: &counter}
}

func memoryStats(t time.Time, workingSet uint64) *MemoryStats {
	usage, rss := workingSet+workingSet/8, workingSet*3/4
	return &MemoryStats{Time: kubeletTime(t), UsageBytes: &usage, WorkingSetBytes: &workingSet, RSSBytes: &rss}
}

// summaryLocked returns the node's /stats/summary body at now.
func (n *node) summaryLocked(now time.Time) ([]byte, error) {
	t := sampleTime(now)
	s := Summary{Pods: make([]PodStats, len(n.pods))}
	nodeCPU, nodeRate, nodeMemory := n.systemCounterAt(t), n.systemRate, n.systemMemory
	for i, p := range n.pods {
		ps := PodStats{
			PodRef:     PodReference{Name: p.ref.Name, Namespace: p.ref.Namespace, UID: p.uid},
			StartTime:  kubeletTime(p.startTime),
			Containers: make([]ContainerStats, len(p.containers)),
		}
		var podCPU, podRate, podMemory uint64
		for j, c := range p.containers {
			ts := t.Add(-c.offset)
			counter := c.counterAt(ts)
			ps.Containers[j] = ContainerStats{
				Name:      c.name,
				StartTime: kubeletTime(c.startTime),
				CPU:       cpuStats(ts, c.rate, counter),
				Memory:    memoryStats(ts, c.memory),
			}
			podCPU += counter
			podRate += c.rate
			podMemory += c.memory
			nodeCPU += c.counterAt(t)
			nodeRate += c.rate
			nodeMemory += c.memory
		}
		ps.CPU = cpuStats(p.sampleTime(t), podRate, podCPU)
		ps.Memory = memoryStats(p.sampleTime(t), podMemory)
		s.Pods[i] = ps
	}
	s.Node = NodeStats{
		NodeName:  n.name,
		StartTime: kubeletTime(n.startTime),
		CPU:       cpuStats(t, nodeRate, nodeCPU),
		Memory:    memoryStats(t, nodeMemory),
	}
	return json.Marshal(&s)
}
