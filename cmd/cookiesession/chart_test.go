package main

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/keyring"
)

// committedChart is the chart the README shows.
var committedChart = filepath.Join("..", "..", "docs", "size-chart.svg")

func defaultMeasurer() (measurer, budgets) {
	return measurer{name: inspect.DefaultName},
		budgets{inspect.DefaultCookieSize, inspect.DefaultMaxChunks, inspect.DefaultTotalSize}
}

// TestSizeChartCommitted draws the chart in memory, as size -chart does,
// and compares it byte for byte with docs/size-chart.svg. Each drawing
// seals with a new random key and random nonces; the sizes, and so the
// file, must not change. (A Go release whose compress/flate writes other
// bytes would move the compressed line: regenerate the file then.)
func TestSizeChartCommitted(t *testing.T) {
	if !sameDeflate() {
		t.Skip("this toolchain's compress/flate writes other bytes than the one the chart was drawn with (Go 1.26), which moves the compressed line; the default toolchain's run checks the chart")
	}
	ms, b := defaultMeasurer()
	var got bytes.Buffer
	if err := drawChart(&got, ms, b); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(committedChart)
	if err != nil {
		t.Fatalf("%v; generate it with: %s", err, chartCommand)
	}
	if !bytes.Equal(got.Bytes(), want) {
		g, w := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("%s differs from what size -chart draws at line %d:\n got %s\nwant %s\nregenerate it with: %s", committedChart, i+1, g[i], w[i], chartCommand)
			}
		}
		t.Fatalf("%s differs from what size -chart draws (%d lines drawn, %d in the file); regenerate it with: %s", committedChart, len(g), len(w), chartCommand)
	}
}

// TestSizeChartCommand: the command writes the same bytes to a file and
// to standard output, under the flags' budgets, and refuses a payload
// with -chart.
func TestSizeChartCommand(t *testing.T) {
	ms, b := defaultMeasurer()
	var want bytes.Buffer
	if err := drawChart(&want, ms, b); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "chart.svg")
	if r := cli(t, "", nil, "size", "-chart", out); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("size -chart: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("size -chart %s wrote %d bytes, unlike drawChart's %d", out, len(got), want.Len())
	}
	r := cli(t, "", nil, "size", "-chart", "-", "-total-size", "9000", "-name", "sid")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "<svg ") || !strings.Contains(r.stdout, "9,000: the budget") || !strings.Contains(r.stdout, `cookie &#34;sid&#34;`) && !strings.Contains(r.stdout, `cookie "sid"`) {
		t.Errorf("size -chart - -total-size 9000 -name sid: exit %d, stderr %s\n%.300s", r.code, r.stderr, r.stdout)
	}
	wantFail(t, cli(t, "{}", nil, "size", "-chart", out, "-"), 2, "-chart draws generated payloads")
	wantFail(t, cli(t, "", nil, "size", "-chart", out, "-json"), 2, "-chart draws generated payloads")
}

// TestChartPayloads: the generated payloads are valid JSON, grow with the
// cart, and are the same on every call; the measuring session behind the
// fixed ID gives the same compressed size under two random keys.
func TestChartPayloads(t *testing.T) {
	prev := 0
	for n := range 50 {
		p := chartPayload(n)
		if !json.Valid(p) || len(p) <= prev || !bytes.Equal(p, chartPayload(n)) {
			t.Fatalf("payload %d: %d bytes after %d, valid %v", n, len(p), prev, json.Valid(p))
		}
		prev = len(p)
	}
	ms, _ := defaultMeasurer()
	payload := chartPayload(28) // two cookies
	a, err := ms.cookiesession(payload, true)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ms.cookiesession(payload, true)
	if !a.Deflated || a.TotalBytes != b.TotalBytes {
		t.Errorf("compressed: %d then %d bytes, deflated %v", a.TotalBytes, b.TotalBytes, a.Deflated)
	}

	// The measured layout is what an application writes into a real
	// client's jar (uncompressed: its size does not depend on the ID).
	plain, _ := ms.cookiesession(payload, false)
	app := newApp(t, cookiesession.Options{Keys: [][]byte{keyring.Generate()}})
	app.set(payload)
	if got := jarSizes(app.jarCookies()); len(got) != 2 || !slices.Equal(got, plain.Cookies) {
		t.Errorf("measured %+v, the client holds %+v", plain.Cookies, got)
	}
}

// chartDeflate is the SHA-256 of deflating deflateProbe with
// compress/flate at its default level, as the Go release that drew the
// committed chart (1.26) does it.
const chartDeflate = "ad9622d7f757f9055f36a0dc0c2b71be4fb79f743d259c862c1033d428e937cc"

const deflateProbe = `{"user":"ada","cart":[{"sku":"tea","qty":2},{"sku":"cup","qty":1}]}`

// sameDeflate reports whether this toolchain deflates as the one that drew
// the committed chart.
func sameDeflate() bool {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.DefaultCompression)
	w.Write([]byte(strings.Repeat(deflateProbe, 40)))
	w.Close()
	return fmt.Sprintf("%x", sha256.Sum256(b.Bytes())) == chartDeflate
}
