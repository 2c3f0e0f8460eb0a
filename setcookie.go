package cookiesession

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Set-Cookie: the one place that formats the session's Set-Cookie lines,
// the values and the deletions, with the same attributes, and keeps
// responses that carry them out of shared caches.

// clearCookies expires the session's cookies: every one rh carried, and
// the base cookie in any case (the browser may hold it under this Path
// although rh did not carry it), replacing any Set-Cookie line for the
// session already on wh. It is every clear: CookieCodec.Clear, a
// Manager's logout (Destroy, Data = nil), a lifetime that ran out, and
// cookies that did not open.
func (cc *CookieCodec) clearCookies(wh, rh http.Header) {
	cc.setCookiesAt(wh, rh, nil, cc.codec.now(), time.Time{})
	if carried := presentCookies(rh, cc.cookie.Name, cc.limits); !carried.has(0) {
		wh.Add("Set-Cookie", expiredCookie(&cc.cookie, cc.cookie.Name).String())
		noSharedCache(wh)
	}
}

// setCookiesAt replaces the session's Set-Cookie lines on wh with parts
// (none: clear) and expires every other cookie of the session that rh
// carried, for a value sealed at now: Max-Age counts
// from the same instant as the sealed expiry, rounded down, so the browser
// never keeps a cookie past the time the server stops accepting it. It
// deletes only chunk indexes below MaxChunks, so that the session's lines
// stay within the bound documented on [Limits] (at most MaxChunks of them)
// however many cookies were planted under the session's name. A response
// that gets any line is made uncacheable by shared caches (noSharedCache).
func (cc *CookieCodec) setCookiesAt(wh, rh http.Header, parts []string, now, expires time.Time) {
	l := cc.limits
	name := cc.cookie.Name
	removeSetCookies(wh, name)
	c := cookieTemplate(&cc.cookie)
	if !cc.browserSession && len(parts) > 0 {
		c.Expires = expires.UTC()
		// Whole seconds, rounded down: the cookie never outlives the seal.
		c.MaxAge = max(int(expires.Sub(now)/time.Second), 1)
	}
	// Every cookie has the same attributes: format them once. The values
	// are base64url, which net/http would neither change nor quote, and
	// NewCookieCodec checked the name and the attributes, so net/http
	// renders the cookie as "name=x" and the attributes.
	c.Name, c.Value = name, "x"
	attrs := strings.TrimPrefix(c.String(), name+"=x")
	for i, p := range parts {
		var b strings.Builder
		b.Grow(chunkNameLen(name, i) + 1 + len(p) + len(attrs))
		b.WriteString(name)
		if i > 0 {
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(i))
		}
		b.WriteByte('=')
		b.WriteString(p)
		b.WriteString(attrs)
		wh.Add("Set-Cookie", b.String())
	}
	added := len(parts) > 0
	carried := presentCookies(rh, name, l)
	for i := len(parts); i < min(l.MaxChunks, maxChunksLimit); i++ {
		if carried.has(i) {
			wh.Add("Set-Cookie", expiredCookie(&cc.cookie, chunkName(name, i)).String())
			added = true
		}
	}
	if added {
		noSharedCache(wh)
	}
}

// cookieTemplate copies the attributes of t.
func cookieTemplate(t *http.Cookie) http.Cookie {
	return http.Cookie{
		Path: t.Path, Domain: t.Domain, Secure: t.Secure, HttpOnly: t.HttpOnly,
		SameSite: t.SameSite, Partitioned: t.Partitioned,
	}
}

// expiredCookie deletes the cookie called name: same attributes, empty
// value, Max-Age=0 and an Expires in the past.
func expiredCookie(t *http.Cookie, name string) *http.Cookie {
	c := cookieTemplate(t)
	c.Name = name
	c.MaxAge = -1
	c.Expires = time.Unix(0, 0).UTC()
	return &c
}

// hasSetCookies reports whether wh sets or deletes any cookie of the
// session.
func hasSetCookies(wh http.Header, name string) bool {
	for _, line := range wh["Set-Cookie"] {
		if k, _, _ := strings.Cut(line, "="); ourCookie(k, name) >= 0 {
			return true
		}
	}
	return false
}

// removeSetCookies drops the Set-Cookie lines already on wh for the
// session's cookies, so saving twice yields one coherent set.
func removeSetCookies(wh http.Header, name string) {
	if !hasSetCookies(wh, name) {
		return
	}
	lines := wh["Set-Cookie"]
	kept := lines[:0]
	for _, line := range lines {
		k, _, _ := strings.Cut(line, "=")
		if ourCookie(k, name) < 0 {
			kept = append(kept, line)
		}
	}
	if len(kept) == 0 {
		wh.Del("Set-Cookie")
		return
	}
	wh["Set-Cookie"] = kept
}

// noSharedCache makes a response that sets or deletes session cookies
// uncacheable by shared caches (proxies, CDNs), which would otherwise hand
// the cookie, or the page it came with, to other visitors. The rule:
//
//   - no Cache-Control: it becomes "no-store";
//   - the application's Cache-Control keeps its directives (max-age,
//     no-cache, …: the browser's own cache may still use them) except
//     public, s-maxage and a qualified private="…", and gains an
//     unqualified private unless it holds no-store (without
//     must-understand, which lets some caches ignore no-store);
//   - CDN-Cache-Control and Surrogate-Control, which a CDN obeys instead of
//     Cache-Control, are removed;
//   - Vary gains Cookie, unless it already lists Cookie or "*".
//
// Every write of session cookies applies it ([CookieCodec], so the
// [Manager] and gorillastore's Save too), and the Manager again when the
// header goes out, so that a Cache-Control the handler set after Save is
// covered. Outside the Handler (Manager.Save, CookieCodec.Write,
// gorillastore), set Cache-Control before the cookies are written.
func noSharedCache(h http.Header) {
	h.Del("CDN-Cache-Control")
	h.Del("Surrogate-Control")
	switch cc := h.Values("Cache-Control"); {
	case len(cc) == 0:
		h.Set("Cache-Control", "no-store")
	case len(cc) == 1 && cc[0] == "no-store":
		// What the rewrite gives for it (a second call, after a Save).
	default:
		h.Set("Cache-Control", privateCacheControl(strings.Join(cc, ", ")))
	}
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Cookie") {
				return
			}
		}
	}
	h.Add("Vary", "Cookie")
}

// privateCacheControl rewrites the Cache-Control value cc as noSharedCache
// describes: without public, s-maxage or a qualified private, with an
// unqualified private.
func privateCacheControl(cc string) string {
	var kept []string
	private, nostore, mustUnderstand := false, false, false
	for _, d := range splitDirectives(cc) {
		name, arg, _ := strings.Cut(d, "=")
		name = strings.TrimSpace(name)
		switch {
		case strings.EqualFold(name, "public"), strings.EqualFold(name, "s-maxage"):
			continue
		case strings.EqualFold(name, "private"):
			if strings.TrimSpace(arg) != "" {
				continue // private="field": the rest stays shareable
			}
			private = true
		case strings.EqualFold(name, "no-store"):
			nostore = true
		case strings.EqualFold(name, "must-understand"):
			mustUnderstand = true // lets a cache that knows the status ignore no-store
		}
		kept = append(kept, d)
	}
	if !private && (!nostore || mustUnderstand) {
		kept = append(kept, "private")
	}
	return strings.Join(kept, ", ")
}

// splitDirectives splits a Cache-Control value at the commas outside
// quoted strings, trimming spaces and dropping empty elements.
func splitDirectives(v string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i <= len(v); i++ {
		switch {
		case i == len(v), !quoted && v[i] == ',':
			if d := strings.TrimSpace(v[start:i]); d != "" {
				out = append(out, d)
			}
			start = i + 1
		case v[i] == '\\' && quoted:
			i++ // a quoted pair
		case v[i] == '"':
			quoted = !quoted
		}
	}
	return out
}
