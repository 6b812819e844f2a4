package report

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// series is one line of a chart.
type series struct {
	name   string
	color  string
	dashed bool
	// bare lines have no dot at each point (a time series).
	bare bool
	x, y []float64
}

// chart is one panel.
type chart struct {
	title, xLabel, yLabel string
	lines                 []series
}

// Plot draws S1 as SVG: CPU seconds per minute and peak RSS against the
// number of nodes, Podometer beside metrics-server (and the transport
// floor's CPU when measured). It returns "" without S1 figures.
func Plot(r *Results) string {
	if len(r.S1) == 0 {
		return ""
	}
	var nodes, pCPU, mCPU, fCPU, rCPU, pRSS, mRSS []float64
	hasFloor, hasRaw := false, false
	for _, row := range r.S1 {
		nodes = append(nodes, float64(row.Nodes))
		pCPU = append(pCPU, row.Podometer.CPUSecondsPerMinute)
		mCPU = append(mCPU, row.MetricsServer.CPUSecondsPerMinute)
		fCPU = append(fCPU, row.Floor.CPUSecondsPerMinute)
		hasFloor = hasFloor || row.Floor.CPUSecondsPerMinute > 0
		rCPU = append(rCPU, row.RawFloor.CPUSecondsPerMinute)
		hasRaw = hasRaw || row.RawFloor.CPUSecondsPerMinute > 0
		pRSS = append(pRSS, float64(row.Podometer.PeakRSSBytes)/(1<<20))
		mRSS = append(mRSS, float64(row.MetricsServer.PeakRSSBytes)/(1<<20))
	}
	cpu := chart{title: "CPU", xLabel: "nodes (30 pods each)", yLabel: "CPU seconds per minute", lines: []series{
		{name: MetricsServer, color: "#d95f02", x: nodes, y: mCPU},
		{name: Podometer, color: "#1b6ac9", x: nodes, y: pCPU},
	}}
	if hasFloor {
		cpu.lines = append(cpu.lines, series{name: "bare HTTPS fetch (floor)", color: "#777777", dashed: true, x: nodes, y: fCPU})
	}
	if hasRaw {
		cpu.lines = append(cpu.lines, series{name: "floor, no HTTP library", color: "#2ca02c", dashed: true, x: nodes, y: rCPU})
	}
	rss := chart{title: "Peak resident memory", xLabel: "nodes (30 pods each)", yLabel: "MiB", lines: []series{
		{name: MetricsServer, color: "#d95f02", x: nodes, y: mRSS},
		{name: Podometer, color: "#1b6ac9", x: nodes, y: pRSS},
	}}
	const w, h = 900, 380
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	cpu.draw(&b, 0, 0, w/2, h)
	rss.draw(&b, w/2, 0, w/2, h)
	b.WriteString("</svg>\n")
	return b.String()
}

// draw renders the chart in the box (x0, y0, w, h).
func (c chart) draw(b *strings.Builder, x0, y0, w, h int) {
	const left, right, top, bottom = 70, 20, 40, 95
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	ox, oy := float64(x0+left), float64(y0+top)
	var maxX, maxY float64
	for _, s := range c.lines {
		for i := range s.x {
			maxX, maxY = math.Max(maxX, s.x[i]), math.Max(maxY, s.y[i])
		}
	}
	xTicks, yTicks := niceTicks(maxX), niceTicks(maxY*1.05)
	xMax, yMax := xTicks[len(xTicks)-1], yTicks[len(yTicks)-1]
	px := func(v float64) float64 { return ox + v/xMax*pw }
	py := func(v float64) float64 { return oy + ph - v/yMax*ph }

	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", x0+left, y0+22, esc(c.title))
	for _, t := range yTicks {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", ox, py(t), ox+pw, py(t))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", ox-6, py(t)+4, tickLabel(t))
	}
	for _, t := range xTicks {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999"/>`+"\n", px(t), oy+ph, px(t), oy+ph+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px(t), oy+ph+18, tickLabel(t))
	}
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", ox, oy+ph, ox+pw, oy+ph)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", ox, oy, ox, oy+ph)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", ox+pw/2, oy+ph+36, esc(c.xLabel))
	fmt.Fprintf(b, `<text transform="translate(%d %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", x0+16, oy+ph/2, esc(c.yLabel))

	for i, s := range c.lines {
		var pts []string
		for j := range s.x {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.x[j]), py(s.y[j])))
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2.5"%s points="%s"/>`+"\n", s.color, dash, strings.Join(pts, " "))
		for j := range s.x {
			if s.bare {
				break
			}
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", px(s.x[j]), py(s.y[j]), s.color)
		}
		ly := float64(y0+h) - 38 + float64(i%2)*16
		lx := ox + float64(i/2)*220
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2.5"%s/>`+"\n", lx, ly-4, lx+24, ly-4, s.color, dash)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+30, ly, esc(s.name))
	}
}

// niceTicks returns 0 and evenly spaced round values up to at least max.
func niceTicks(max float64) []float64 {
	if max <= 0 {
		return []float64{0, 1}
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []float64
	for v := 0.0; ; v += step {
		ticks = append(ticks, v)
		if v >= max-1e-9 {
			return ticks
		}
	}
}

func tickLabel(v float64) string {
	if v == math.Trunc(v) {
		return thousands(int(v))
	}
	return fmt.Sprintf("%g", math.Round(v*1000)/1000)
}

func esc(s string) string { return html.EscapeString(s) }
