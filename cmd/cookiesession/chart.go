package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// chartCommand is the command that regenerates the committed chart, run
// from the repository's root; docs/performance.md names it and the test that
// compares the chart with the file says it when they differ.
const chartCommand = "go -C cmd/cookiesession run . size -chart ../../docs/size-chart.svg"

// maxChartItems bounds the cart of the chart's largest payload (about
// 110 bytes of JSON an item).
const maxChartItems = 2000

// writeChart draws the chart for size -chart into file ("-": standard
// output).
func writeChart(e *env, cmd, file string, ms measurer, b budgets) int {
	var buf bytes.Buffer
	if err := drawChart(&buf, ms, b); err != nil {
		return fail(e, exitUsage, cmd, "drawing the chart: %s", msg(err))
	}
	if file == "-" {
		e.stdout.Write(buf.Bytes())
		return exitOK
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		return fail(e, exitUsage, cmd, "%v", err)
	}
	return exitOK
}

// chartSession is the payload of the chart: what a shop keeps in a
// session, a signed-in user, a CSRF token, a flash message and a cart
// that grows one item at a time.
type chartSession struct {
	User  chartUser  `json:"user"`
	CSRF  string     `json:"csrf"`
	Flash string     `json:"flash,omitempty"`
	Cart  []cartItem `json:"cart"`
}

type chartUser struct {
	ID     int      `json:"id"`
	Name   string   `json:"name"`
	Email  string   `json:"email"`
	Roles  []string `json:"roles"`
	Locale string   `json:"locale"`
}

type cartItem struct {
	SKU       string `json:"sku"`
	Title     string `json:"title"`
	Qty       int    `json:"qty"`
	UnitCents int    `json:"unit_cents"`
	Added     string `json:"added"`
}

// splitmix64 is a small deterministic generator (Steele, Lea and Flood's
// SplitMix64): the chart's payloads are the same on every machine and Go
// version, which math/rand does not promise.
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (s *splitmix64) pick(words []string) string { return words[s.next()%uint64(len(words))] }

var (
	chartAdjectives = []string{"Stainless", "Organic", "Recycled", "Wireless", "Waterproof", "Handmade", "Compact", "Ergonomic", "Vintage", "Insulated", "Foldable", "Merino"}
	chartMaterials  = []string{"steel", "cotton", "bamboo", "oak", "linen", "ceramic", "leather", "wool", "glass", "aluminium"}
	chartProducts   = []string{"water bottle", "tote bag", "desk lamp", "cutting board", "headphones", "backpack", "mug", "notebook", "rain jacket", "phone case", "tea set", "scarf", "keyboard", "plant pot"}
	chartVariants   = []string{"750 ml", "large", "small", "navy", "forest green", "charcoal", "pack of 2", "42 mm", "EU plug", "size M"}
)

// chartPayload returns the session JSON, as encoding/json writes it, of a
// shop session whose cart holds items items: a user record (about 150
// bytes), a 43-character random CSRF token and a flash message, then
// about 110 bytes an item of English product titles from small word lists,
// SKUs, quantities, prices and ISO times. Every byte comes from a
// splitmix64 generator with a fixed seed, so the payloads, and what
// compression makes of them, are the same in every run. Compression
// depends on the content: this one deflates to about a third, between
// random data (which does not shrink) and a list of identical items
// (which shrinks to almost nothing).
func chartPayload(items int) []byte {
	rng := splitmix64(20250101)
	token := make([]byte, 32)
	for i := range token {
		token[i] = byte(rng.next())
	}
	s := chartSession{
		User: chartUser{ID: 48213, Name: "Ada Lovelace", Email: "ada.lovelace@example.com",
			Roles: []string{"customer", "newsletter"}, Locale: "en-GB"},
		CSRF:  base64.RawURLEncoding.EncodeToString(token),
		Flash: "Welcome back, Ada!",
		Cart:  []cartItem{},
	}
	for i := range items {
		s.Cart = append(s.Cart, cartItem{
			SKU:       fmt.Sprintf("SKU-%05d", 10000+rng.next()%90000),
			Title:     rng.pick(chartAdjectives) + " " + rng.pick(chartMaterials) + " " + rng.pick(chartProducts) + ", " + rng.pick(chartVariants),
			Qty:       1 + int(rng.next()%3),
			UnitCents: 299 + int(rng.next()%20000),
			Added:     fmt.Sprintf("2025-01-%02dT%02d:%02d:%02dZ", 1+i%28, rng.next()%24, rng.next()%60, rng.next()%60),
		})
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a fixed struct of strings and ints always marshals
	}
	return b
}

// chartPoint is one payload measured three ways.
type chartPoint struct {
	json                      int // serialized JSON bytes
	plain, comp, securecookie layout
}

// chartSeries are the points of the chart, from an empty cart until the
// compressed session is over the budget (or maxChartItems).
func chartSeries(ms measurer, b budgets) ([]chartPoint, error) {
	var pts []chartPoint
	for n := 0; n <= maxChartItems; n++ {
		payload := chartPayload(n)
		p := chartPoint{json: len(payload), securecookie: ms.securecookie(payload)}
		var err error
		if p.plain, err = ms.cookiesession(payload, false); err != nil {
			return nil, err
		}
		if p.comp, err = ms.cookiesession(payload, true); err != nil {
			return nil, err
		}
		pts = append(pts, p)
		if !p.comp.Fits || p.comp.TotalBytes > b.TotalSize {
			break
		}
	}
	return pts, nil
}

// chart geometry, in SVG user units (pixels at 100 %).
const (
	chartW, chartH  = 900, 600
	plotL, plotR    = 78, 640 // the plot's left and right edges
	bytesT, bytesB  = 78, 400 // the bytes panel's top and bottom
	countT, countB  = 440, 530
	legendX         = 660
	chartFont       = `font-family="Helvetica, Arial, sans-serif"`
	colorPlain      = "#1f6fb4"
	colorCompressed = "#2a9d3f"
	colorSC         = "#d9541e"
	colorGuide      = "#666"
)

// drawChart measures the chart's payloads with ms and writes the SVG: cookie
// bytes on the wire (names plus values of all the cookies) and the number
// of cookies against the session's JSON size, for cookiesession,
// cookiesession compressed and gorilla/securecookie, with the 4,096-byte
// cookie limit of browsers and the total budget marked. The output depends
// only on ms and b: the same bytes on every run.
func drawChart(w io.Writer, ms measurer, b budgets) error {
	pts, err := chartSeries(ms, b)
	if err != nil {
		return err
	}
	last := pts[len(pts)-1]
	xMax := niceCeil(float64(last.json))
	yMax := niceCeil(float64(max(b.TotalSize, 4096)) * 1.3)
	maxCookies := 1
	for _, get := range []func(chartPoint) layout{
		func(p chartPoint) layout { return p.plain },
		func(p chartPoint) layout { return p.comp },
	} {
		for _, p := range pts {
			maxCookies = max(maxCookies, len(get(p).Cookies))
			if float64(get(p).TotalBytes) > yMax {
				break // the rest of the line is not drawn
			}
		}
	}
	x := func(v float64) float64 { return plotL + v/xMax*(plotR-plotL) }
	y := func(v float64) float64 { return bytesB - v/yMax*(bytesB-bytesT) }
	yc := func(n float64) float64 { return countB - n/float64(maxCookies+1)*(countB-countT) }

	var s strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&s, format, args...) }
	f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s font-size="12">`+"\n", chartW, chartH, chartW, chartH, chartFont)
	f(`<rect width="100%%" height="100%%" fill="#fff"/>` + "\n")
	f(`<text x="%d" y="28" font-size="17" font-weight="bold">What a session costs in cookies</text>`+"\n", plotL)
	f(`<text x="%d" y="48" fill="#444">cookie %q; budgets: %s bytes a cookie, %d cookies, %s bytes in all. Payload: a shop session, its cart growing by one item a point.</text>`+"\n",
		plotL, ms.name, thousands(b.CookieSize), b.MaxChunks, thousands(b.TotalSize))
	f(`<clipPath id="bytes"><rect x="%d" y="%d" width="%d" height="%d"/></clipPath>`+"\n", plotL, bytesT, plotR-plotL, bytesB-bytesT)
	f(`<clipPath id="count"><rect x="%d" y="%d" width="%d" height="%d"/></clipPath>`+"\n", plotL, countT-4, plotR-plotL, countB-countT+8)

	// Grid and axes of the bytes panel.
	xStep, yStep := niceStep(xMax), niceStep(yMax)
	for v := 0.0; v <= yMax+0.5; v += yStep {
		f(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", plotL, plotR, y(v), y(v))
		f(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", plotL-6, y(v)+4, thousands(int(v)))
	}
	for v := 0.0; v <= xMax+0.5; v += xStep {
		f(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#e5e5e5"/>`+"\n", x(v), x(v), bytesT, bytesB)
		f(`<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#e5e5e5"/>`+"\n", x(v), x(v), countT, countB)
		f(`<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(v), countB+16, thousands(int(v)))
	}
	f(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", plotL, bytesT, plotR-plotL, bytesB-bytesT)
	f(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", plotL, countT, plotR-plotL, countB-countT)
	f(`<text transform="translate(22 %d) rotate(-90)" text-anchor="middle">cookie bytes on the wire (names + values)</text>`+"\n", (bytesT+bytesB)/2)
	f(`<text transform="translate(22 %d) rotate(-90)" text-anchor="middle">cookies</text>`+"\n", (countT+countB)/2)
	f(`<text x="%d" y="%d" text-anchor="middle">session JSON size (bytes, as encoding/json writes it)</text>`+"\n", (plotL+plotR)/2, countB+36)
	for n := 1; n <= maxCookies; n++ {
		f(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", plotL, plotR, yc(float64(n)), yc(float64(n)))
		f(`<text x="%d" y="%.1f" text-anchor="end">%d</text>`+"\n", plotL-6, yc(float64(n))+4, n)
	}

	// The lines: solid while the session fits, dashed past it (what it
	// would need, refused at save time).
	type series struct {
		label, color string
		get          func(chartPoint) layout
		offset       float64 // pixels, so that equal cookie counts do not hide each other
	}
	all := []series{
		{"cookiesession", colorPlain, func(p chartPoint) layout { return p.plain }, -1.5},
		{"cookiesession, compressed", colorCompressed, func(p chartPoint) layout { return p.comp }, 1.5},
		{"gorilla/securecookie", colorSC, func(p chartPoint) layout { return p.securecookie }, 0},
	}
	fitsUpTo := make([]int, len(all))
	for i, sr := range all {
		var solid, dashed, steps, stepsOver strings.Builder
		prevFits, prevCount := true, 0.0
		for j, p := range pts {
			l := sr.get(p)
			if l.Fits {
				fitsUpTo[i] = p.json
			}
			px, py := x(float64(p.json)), y(float64(l.TotalBytes))
			switch {
			case l.Fits:
				pathTo(&solid, j == 0, px, py)
			case prevFits:
				// The first point over: the dashed line starts at the last
				// point that fit.
				if j > 0 {
					q := pts[j-1]
					pathTo(&dashed, true, x(float64(q.json)), y(float64(sr.get(q).TotalBytes)))
				}
				pathTo(&dashed, j == 0, px, py)
			default:
				pathTo(&dashed, false, px, py)
			}
			// The cookie count, a step line; securecookie always writes one
			// cookie and is left out of this panel.
			if sr.label != "gorilla/securecookie" && len(l.Cookies) > 0 {
				c := yc(float64(len(l.Cookies))) + sr.offset
				sb := &steps
				if !l.Fits {
					sb = &stepsOver
					if prevFits && j > 0 {
						pathTo(sb, true, px, yc(prevCount)+sr.offset)
					}
				}
				if sb.Len() == 0 {
					pathTo(sb, true, px, c)
				} else {
					pathTo(sb, false, px, lastY(sb))
					pathTo(sb, false, px, c)
				}
				prevCount = float64(len(l.Cookies))
			}
			prevFits = l.Fits
			if py < bytesT && !l.Fits {
				break // off the top: the rest is clipped anyway
			}
		}
		if solid.Len() > 0 {
			f(`<path d="%s" fill="none" stroke="%s" stroke-width="2.2" clip-path="url(#bytes)"/>`+"\n", solid.String(), sr.color)
		}
		if dashed.Len() > 0 {
			f(`<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="3 4" clip-path="url(#bytes)"/>`+"\n", dashed.String(), sr.color)
		}
		if steps.Len() > 0 {
			f(`<path d="%s" fill="none" stroke="%s" stroke-width="2" clip-path="url(#count)"/>`+"\n", steps.String(), sr.color)
		}
		if stepsOver.Len() > 0 {
			f(`<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="3 4" clip-path="url(#count)"/>`+"\n", stepsOver.String(), sr.color)
		}
	}

	// The limits, over the lines: a browser's 4,096 bytes a cookie, and the budget.
	// Each label sits over its line, starting a little right of where the
	// uncompressed line crosses it (the steep lines are left of that, the
	// compressed one far below); a white halo keeps it readable if a line
	// passes behind it.
	guide := func(v int, label string) {
		f(`<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.2" stroke-dasharray="6 4"/>`+"\n", plotL, plotR, y(float64(v)), y(float64(v)), colorGuide)
		at := last.json
		for _, p := range pts {
			if p.plain.TotalBytes > v {
				at = p.json
				break
			}
		}
		f(`<text x="%.1f" y="%.1f" fill="%s" stroke="#fff" stroke-width="4" paint-order="stroke">%s</text>`+"\n", x(float64(at)+xMax*0.04), y(float64(v))-5, colorGuide, label)
	}
	if b.TotalSize != 4096 {
		guide(4096, "4,096: a browser's cookie limit")
	}
	guide(b.TotalSize, thousands(b.TotalSize)+": the budget of all the session's cookies (Limits.TotalSize)")

	// The legend, with how much JSON each one holds.
	ly := bytesT + 4
	for i, sr := range all {
		f(`<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2.5"/>`+"\n", legendX, legendX+26, ly, ly, sr.color)
		f(`<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", legendX+34, ly+4, sr.label)
		holds := "no payload of the chart fits"
		if fitsUpTo[i] > 0 {
			holds = "largest that fits: " + thousands(fitsUpTo[i]) + " bytes"
		}
		f(`<text x="%d" y="%d" fill="#444">%s</text>`+"\n", legendX+34, ly+20, holds)
		ly += 48
	}
	f(`<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#444" stroke-width="2" stroke-dasharray="3 4"/>`+"\n", legendX, legendX+26, ly, ly)
	f(`<text x="%d" y="%d" fill="#444">over a limit: refused</text>`+"\n", legendX+34, ly+4)
	f(`<text x="%d" y="%d" fill="#444">at save time (what it</text>`+"\n", legendX+34, ly+20)
	f(`<text x="%d" y="%d" fill="#444">would need)</text>`+"\n", legendX+34, ly+36)
	ly += 64
	for _, line := range []string{
		"gorilla/securecookie: JSON",
		"serializer, AES-256, HMAC-",
		"SHA256; always one cookie, its",
		"value at most 4,096 bytes.",
		"",
		"Compression depends on the",
		"content. This payload: a user,",
		"a random token, a cart of",
		"product titles, prices, times;",
		fmt.Sprintf("compression saves %d %% of the", 100-100*last.comp.TotalBytes/last.plain.TotalBytes),
		fmt.Sprintf("bytes at %s bytes of JSON.", thousands(last.json)),
		"",
		"Drawn by: cookiesession size",
		"-chart (real sealing).",
	} {
		f(`<text x="%d" y="%d" fill="#444">%s</text>`+"\n", legendX, ly, line)
		ly += 16
	}
	f("</svg>\n")
	_, err = io.WriteString(w, s.String())
	return err
}

// pathTo appends an SVG move (first) or line to b.
func pathTo(b *strings.Builder, first bool, x, y float64) {
	if first || b.Len() == 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(b, "M%.1f %.1f", x, y)
		return
	}
	fmt.Fprintf(b, " L%.1f %.1f", x, y)
}

// lastY returns the y coordinate of the last point of path b.
func lastY(b *strings.Builder) float64 {
	s := b.String()
	v, _ := strconv.ParseFloat(s[strings.LastIndexByte(s, ' ')+1:], 64)
	return v
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, or a multiple
// of niceStep's step, whichever is nearer.
func niceCeil(v float64) float64 {
	step := niceStep(v)
	n := float64(int(v/step+0.999999)) * step
	return n
}

// niceStep returns a grid step for an axis from 0 to v: 1, 2 or 5 times a
// power of ten, giving 4 to 10 lines.
func niceStep(v float64) float64 {
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []float64{0.1, 0.2, 0.5, 1} {
		if v/(m*p) <= 10 {
			return m * p
		}
	}
	return p
}

// thousands formats n with commas: 6,144.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
