package cookiesession

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cookiesession/cookiesession/internal/defaults"
)

// Chunk naming: a sealed value that fits one cookie is stored under the
// session's name; a longer one is split into consecutive pieces stored as
// name, name.1, name.2, …, name.(n-1). The header at the start of the first
// piece records n, and n is authenticated with the rest of the header, so
// leftover pieces of an older, longer session are ignored on read and a
// missing, swapped or foreign piece fails authentication.

const (
	// whatCookies is the SizeError.What of a session over its cookie
	// budget (the case the Overflow store takes).
	whatCookies = "session cookies"

	maxChunksLimit = 255 // the header's chunk count is one byte

	// maxCandidates bounds the cookie-tossing search: how many sets of
	// cookies carrying the session's name are tried before giving up.
	maxCandidates = 8
)

var (
	// errCutShort reports a request carrying more candidate cookies under
	// the session's name than the search tries: the real session may be
	// among those not tried, so none is taken.
	errCutShort = fmt.Errorf("%w, or more candidates than the %d tried", ErrAmbiguous, maxCandidates)
)

// Limits bound the cookies one session occupies. The zero value means the
// defaults.
//
// They also bound what a write puts in the response header, whatever
// cookies the request carried (a sibling subdomain can plant hundreds): at
// most MaxChunks Set-Cookie lines for the session, namely the cookies of
// the new value (at most TotalSize bytes of names and values) and
// deletions, without a value, of the other cookies of the session that the
// request carried with an index below MaxChunks, the only ones a write with
// these Limits can have created. Cookies with a higher index are ignored on
// read and left alone on write. Each line is the cookie's name and value
// plus the attributes (about 100 bytes with the defaults), so with the
// default Limits a session never adds more than 7.5 KB of Set-Cookie lines
// to a response.
type Limits struct {
	// CookieSize is the most bytes of name plus value in one cookie.
	// Zero: 4000 (browsers drop cookies over 4096). At most 4096.
	CookieSize int

	// MaxChunks is the most cookies one session is split across, the base
	// cookie included. Reading checks it before joining anything.
	// Zero: 10. At most 255.
	MaxChunks int

	// TotalSize is the most bytes of names plus values of all the
	// session's cookies together. Zero: 6144, which keeps the session in
	// an 8 KiB Cookie header line (the default limit of nginx and Apache)
	// with 2 KiB to spare for other cookies. Raise it together with the
	// proxies' header limits (nginx large_client_header_buffers, Apache
	// LimitRequestFieldSize).
	TotalSize int
}

func (l Limits) withDefaults() Limits {
	if l.CookieSize == 0 {
		l.CookieSize = defaults.CookieSize
	}
	if l.MaxChunks == 0 {
		l.MaxChunks = defaults.MaxChunks
	}
	if l.TotalSize == 0 {
		l.TotalSize = defaults.TotalSize
	}
	return l
}

func (l Limits) validate(name string) error {
	switch {
	case l.CookieSize < 0 || l.CookieSize > defaults.MaxCookieSize:
		return fmt.Errorf("cookiesession: Limits.CookieSize %d is outside 1..%d", l.CookieSize, defaults.MaxCookieSize)
	case l.MaxChunks < 0 || l.MaxChunks > maxChunksLimit:
		return fmt.Errorf("cookiesession: Limits.MaxChunks %d is outside 1..%d", l.MaxChunks, maxChunksLimit)
	case l.TotalSize < 0:
		return fmt.Errorf("cookiesession: Limits.TotalSize %d is negative", l.TotalSize)
	}
	l = l.withDefaults()
	if min(l.CookieSize, l.TotalSize) < chunkNameLen(name, l.MaxChunks-1)+encodedLen(0)+1 {
		return fmt.Errorf("cookiesession: Limits leave no room for a session named %q", name)
	}
	return nil
}

// chunkName is the name of the i-th cookie of the session name.
func chunkName(name string, i int) string {
	if i == 0 {
		return name
	}
	return name + "." + strconv.Itoa(i)
}

// chunkNameLen is len(chunkName(name, i)) without building it.
func chunkNameLen(name string, i int) int {
	switch {
	case i == 0:
		return len(name)
	case i < 10:
		return len(name) + 2
	case i < 100:
		return len(name) + 3
	default:
		return len(name) + 4
	}
}

// plan returns how many cookies an encoded value of n bytes needs, or a
// *SizeError when that is over the limits.
func (l Limits) plan(name string, n int) (int, error) {
	chunks, names, left := 0, 0, n
	for {
		if chunks == l.MaxChunks {
			return 0, &SizeError{What: whatCookies, budget: true, Name: name, Size: n + names, Limit: min(l.TotalSize, names+n-left)}
		}
		names += chunkNameLen(name, chunks)
		left -= l.CookieSize - chunkNameLen(name, chunks)
		chunks++
		if left <= 0 {
			break
		}
	}
	if n+names > l.TotalSize {
		return 0, &SizeError{What: whatCookies, budget: true, Name: name, Size: n + names, Limit: l.TotalSize}
	}
	return chunks, nil
}

// split cuts the encoded value s into the pieces plan counted.
func (l Limits) split(name, s string, chunks int) []string {
	parts := make([]string, 0, chunks)
	for i := range chunks {
		room := l.CookieSize - chunkNameLen(name, i)
		if i == chunks-1 || len(s) <= room {
			parts = append(parts, s)
			break
		}
		parts = append(parts, s[:room])
		s = s[room:]
	}
	return parts
}

// carried is what a request holds of one session's cookies, as substrings
// of its Cookie header lines.
type carried struct {
	bases  []string   // distinct values of cookies named name that start with a format header, in header order, at most maxCandidates+1
	chunks chunkLists // chunks[i-1]: distinct values of cookies named name.i, in header order, at most maxCandidates+1
	cut    [4]uint64  // bit i: the request carried more distinct values of chunkName(name, i) than were kept
	junk   bool       // a cookie named name was no sealed value (not kept, but not "no cookie" either)
	over   int        // size (name plus value) of the largest cookie over CookieSize; 0: none
	seen   [4]uint64  // bit i: a cookie named chunkName(name, i), i < MaxChunks, was present
	won    *[]string  // if not nil, join sets it to the values that opened, base first
}

// scanCookies collects the session's cookies from the request header
// without parsing or allocating for unrelated cookies, and with a constant
// number of allocations however many cookies the header holds. Names that
// are not name or name.i for a canonical decimal 1 ≤ i < 255 (no sign, no
// leading zero) are not ours and are skipped, and so are those with
// i ≥ MaxChunks, which no write of these Limits creates. Cookies over
// CookieSize are only recorded as present (so that writing expires them),
// and so are base cookies that do not start with a format header. Of each
// chunk index, and of the base cookies, the first maxCandidates+1 distinct
// values are kept (identical ones count once, so that copies planted on
// several Paths cannot push the real value out); a further distinct value
// marks the list as cut, and join then yields no session.
func scanCookies(h http.Header, name string, l Limits) carried {
	var c carried
	var s cookieScan // not a composite literal: that would copy counts
	s.init(name, l)
	lines := h["Cookie"]
	s.count(&c, lines)
	if s.firstLine < 0 {
		return c
	}
	s.allocate(&c)
	s.collect(&c, lines)
	return c
}

// presentCookies is the first pass of scanCookies alone: which of the
// session's cookies h carries (carried.has), for a write to expire them,
// without keeping, allocating or checking any value.
func presentCookies(h http.Header, name string, l Limits) carried {
	var c carried
	var s cookieScan
	s.init(name, l)
	s.count(&c, h["Cookie"])
	return c
}

// cookieScan is the state of one scanCookies: the two passes over the
// Cookie header lines and what the first tells the second.
type cookieScan struct {
	name       string
	maxChunks  int // indexes at or over it are not ours
	cookieSize int // Limits.CookieSize

	counts    [maxChunksLimit]uint8 // per index, readable cookies, at most maxCandidates+1 (a bound on the distinct values kept)
	last      int                   // the highest index counted
	firstLine int                   // the line of the first readable cookie; -1: none
	firstOff  int                   // its offset in that line
}

// init sets the scan up for the session name under l.
func (s *cookieScan) init(name string, l Limits) {
	s.name, s.cookieSize, s.firstLine = name, l.CookieSize, -1
	s.maxChunks = min(max(l.MaxChunks, 1), maxChunksLimit)
}

// index returns the chunk index of the cookie named k, or -1 when it is
// not a cookie of the session with an index below MaxChunks.
func (s *cookieScan) index(k string) int {
	idx := ourCookie(k, s.name)
	if idx >= s.maxChunks {
		return -1
	}
	return idx
}

// fits reports whether the cookie k=v is within CookieSize.
func (s *cookieScan) fits(k, v string) bool { return len(k)+len(v) <= s.cookieSize }

// count is the first pass: it marks in c which of the session's cookies
// are present and the largest one over CookieSize, counts the readable
// ones per index, so that allocate allocates once, and notes where the
// first readable one starts, so that collect skips what comes before.
func (s *cookieScan) count(c *carried, lines []string) {
	for j, line := range lines {
		if !strings.Contains(line, s.name) {
			continue
		}
		for rest := line; len(rest) > 0; {
			off := len(line) - len(rest)
			var k, v string
			k, v, rest = nextCookie(rest)
			idx := s.index(k)
			if idx < 0 {
				continue
			}
			c.seen[idx/64] |= 1 << (idx % 64)
			if !s.fits(k, v) {
				c.over = max(c.over, len(k)+len(v))
				continue
			}
			if s.firstLine < 0 {
				s.firstLine, s.firstOff = j, off
			}
			if s.counts[idx] <= maxCandidates {
				s.counts[idx]++
			}
			s.last = max(s.last, idx)
		}
	}
}

// allocate gives c.bases and each of c.chunks an empty list with room for
// the count of its index, all in one backing array.
func (s *cookieScan) allocate(c *carried) {
	counts := s.counts[:s.last+1]
	total := 0
	for _, n := range counts {
		total += int(n)
	}
	store := make([]string, total)
	c.bases, store = store[:0:counts[0]], store[counts[0]:]
	if s.last > 0 {
		c.chunks = make(chunkLists, s.last)
		for i := range c.chunks {
			n := int(counts[i+1])
			c.chunks[i], store = store[:0:n], store[n:]
		}
	}
}

// collect is the second pass, from the first readable cookie on: it keeps
// each readable cookie's value in its index's list.
func (s *cookieScan) collect(c *carried, lines []string) {
	for j, line := range lines[s.firstLine:] {
		if j == 0 {
			line = line[s.firstOff:]
		} else if !strings.Contains(line, s.name) {
			continue
		}
		for len(line) > 0 {
			var k, v string
			k, v, line = nextCookie(line)
			if idx := s.index(k); idx >= 0 && s.fits(k, v) {
				c.keep(idx, v)
			}
		}
	}
}

// keep adds v to the list of index idx unless the list holds it already or
// was cut. A base that does not start with a format header is only noted
// as junk; a distinct value past the list's room cuts the list.
func (c *carried) keep(idx int, v string) {
	if c.isCut(idx) {
		return
	}
	list := &c.bases
	if idx > 0 {
		list = &c.chunks[idx-1]
	}
	// At most maxCandidates+1 comparisons of each value.
	if slices.Contains(*list, v) {
		return
	}
	if idx == 0 {
		if _, err := peekHeader(v); err != nil {
			c.junk = true
			return
		}
	}
	if len(*list) == cap(*list) {
		c.cut[idx/64] |= 1 << (idx % 64)
		return
	}
	*list = append(*list, v)
}

// nextCookie cuts the first name=value pair off a Cookie header line.
// A pair without "=" gives an empty name.
func nextCookie(line string) (k, v, rest string) {
	part, rest, _ := strings.Cut(line, ";")
	k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
	if !ok {
		return "", "", rest
	}
	return k, v, rest
}

// ourCookie returns the chunk index of the cookie named k in the session
// called name: 0 for name, i for name.i with a canonical decimal
// 1 ≤ i < maxChunksLimit, and -1 for any other name.
func ourCookie(k, name string) int {
	switch {
	case !strings.HasPrefix(k, name):
		return -1
	case len(k) == len(name):
		return 0
	case k[len(name)] != '.':
		return -1
	}
	return chunkIndex(k[len(name)+1:], maxChunksLimit)
}

// chunkIndex parses a canonical chunk index in 1..max-1, or returns -1.
func chunkIndex(s string, max int) int {
	if len(s) == 0 || len(s) > 3 || s[0] == '0' {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	if n >= max {
		return -1
	}
	return n
}

// has reports whether the request carried a cookie named chunkName(name,
// i), for i < MaxChunks.
func (c *carried) has(i int) bool { return c.seen[i/64]&(1<<(i%64)) != 0 }

// isCut reports whether more distinct values of chunkName(name, i) were
// carried than kept.
func (c *carried) isCut(i int) bool { return c.cut[i/64]&(1<<(i%64)) != 0 }

func (c *carried) empty() bool {
	return len(c.bases) == 0 && c.chunks == nil && c.over == 0 && !c.junk
}

// join tries every candidate set of cookies (bounded by maxCandidates) and
// calls open with each joined value and the count of cookies it spans. It
// returns nil when exactly one candidate opened (candidates that join to
// the same value are one), ErrAmbiguous when several did or when the
// search was cut short (a list it needed was cut by scanCookies, or more
// than maxCandidates combinations were left to try: whichever opened,
// another one not tried might have too), ErrNoCookie when the request
// carried none of the session's cookies, and otherwise the most telling
// failure (ErrExpired before ErrTooLarge before ErrUnknownKey before
// ErrInvalid).
func (c *carried) join(name string, l Limits, open func(value string, chunks int) error) error {
	if c.empty() {
		return ErrNoCookie
	}
	if c.isCut(0) {
		return errCutShort
	}
	var s joinSearch // not a composite literal: that would copy picks
	s.name, s.l, s.failure = name, l, ErrInvalid
	if c.over > 0 {
		s.failure = &SizeError{What: "cookie", Name: name, Size: c.over, Limit: l.CookieSize}
	}
	for _, base := range c.bases {
		if err := s.tryBase(c, base, open); err != nil {
			return err
		}
	}
	switch {
	case s.opened == 1:
		return nil
	case s.opened > 1:
		return ErrAmbiguous
	}
	return s.failure
}

// joinSearch is the state of one join. The carried cookies and open are
// passed to its methods rather than kept in it, so that they do not escape
// with the failures it keeps.
type joinSearch struct {
	name string
	l    Limits

	failure error               // the most telling failure so far
	opened  int                 // distinct values that opened
	first   string              // the first value that opened
	tries   int                 // candidates tried, at most maxCandidates
	picks   [maxChunksLimit]int // picks[i]: which value of chunk i the candidate takes
}

// note keeps err as the failure if it tells more than the one kept:
// ErrExpired before ErrTooLarge before ErrUnknownKey before anything else.
func (s *joinSearch) note(err error) {
	switch {
	case errors.Is(err, ErrExpired):
		s.failure = err
	case errors.Is(err, ErrTooLarge) && !errors.Is(s.failure, ErrExpired):
		s.failure = err
	case errors.Is(err, ErrUnknownKey) && !errors.Is(s.failure, ErrExpired) && !errors.Is(s.failure, ErrTooLarge):
		s.failure = err
	}
}

// tryBase tries the candidates that start with base: every combination of
// the carried values of its chunks 1..n-1, n being the count its header
// records. A base whose chunks are not all carried has none. It returns
// errCutShort when combinations are left untried (a list it needs was cut,
// or the search reached maxCandidates), and nil otherwise.
func (s *joinSearch) tryBase(c *carried, base string, open func(value string, chunks int) error) error {
	h, err := peekHeader(base)
	if err != nil {
		return nil
	}
	if h.Chunks > s.l.MaxChunks {
		s.note(&SizeError{What: "chunk count", Name: s.name, Size: h.Chunks, Limit: s.l.MaxChunks})
		return nil
	}
	picks := s.picks[:h.Chunks]
	// Every index 1..chunks-1 must be present: contiguous, nothing
	// missing. Duplicates are tried in turn (cookie tossing); a list cut
	// short leaves combinations untried.
	for i := 1; i < h.Chunks; i++ {
		if len(c.chunks.at(i)) == 0 {
			return nil
		}
		picks[i] = 0
	}
	for i := 1; i < h.Chunks; i++ {
		if c.isCut(i) {
			return errCutShort
		}
	}
	for {
		if s.tries == maxCandidates {
			return errCutShort
		}
		s.tries++
		s.try(c, base, picks, open)
		if !c.next(picks) {
			return nil
		}
	}
}

// try opens one candidate: base, then chunk i's picks[i]-th value. Its
// size is checked first, so that nothing is copied past TotalSize.
func (s *joinSearch) try(c *carried, base string, picks []int, open func(value string, chunks int) error) {
	size := len(base)
	for i := 1; i < len(picks); i++ {
		size += len(c.chunks[i-1][picks[i]])
	}
	if size > s.l.TotalSize {
		s.note(&SizeError{What: whatCookies, budget: true, Name: s.name, Size: size, Limit: s.l.TotalSize})
		return
	}
	v := base
	if len(picks) > 1 {
		var b strings.Builder
		b.Grow(size)
		b.WriteString(base)
		for i := 1; i < len(picks); i++ {
			b.WriteString(c.chunks[i-1][picks[i]])
		}
		v = b.String()
	}
	if err := open(v, len(picks)); err != nil {
		s.note(err)
	} else if s.opened == 0 || v != s.first {
		s.first = v
		s.opened++
		c.record(base, picks)
	}
}

// record keeps, in c.won, the values of the candidate that opened: base,
// then chunk i's picks[i]-th value.
func (c *carried) record(base string, picks []int) {
	if c.won == nil {
		return
	}
	*c.won = append((*c.won)[:0], base)
	for i := 1; i < len(picks); i++ {
		*c.won = append(*c.won, c.chunks[i-1][picks[i]])
	}
}

type chunkLists [][]string

func (cl chunkLists) at(i int) []string {
	if i-1 >= len(cl) {
		return nil
	}
	return cl[i-1]
}

// next advances picks (an odometer over duplicate chunk values) and
// reports whether there is another combination.
func (c *carried) next(picks []int) bool {
	for i := len(picks) - 1; i >= 1; i-- {
		if picks[i]+1 < len(c.chunks[i-1]) {
			picks[i]++
			return true
		}
		picks[i] = 0
	}
	return false
}
