package cookiesession

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Misconfigurations that would make sessions silently useless are
// reported the first time a Manager sees them, once, at Warn on its
// Logger, with the fix in the message: Secure cookies set in response to
// a plain-HTTP request the browser will not keep them from, and two
// Managers serving one cookie name on one request.

// The misconfigurations a Manager reports once.
const (
	warnPlainHTTP = iota
	warnNameConflict
	numWarnings
)

// nameKey is the context key under which a Manager's Handler answers for
// the cookie name it serves: the first Manager's Handler on a request
// claims the name.
type nameKey string

// warnOnce logs msg at Warn on the Manager's Logger, the first time only
// for each kind of warning.
func (m *Manager[T]) warnOnce(kind int, r *http.Request, msg string, attrs ...slog.Attr) {
	if m.seen.warned[kind].Swap(true) {
		return
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	attrs = append([]slog.Attr{slog.String("cookie", m.opts.Name)}, attrs...)
	m.opts.Logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
}

// nameTaken reports whether another Manager's Handler serves m's cookie
// name on r, for a Path that overlaps m's (the browser sends both
// Managers' cookies under the one name to a path within both), and warns
// once if so. Managers whose Paths are disjoint ("/admin" and "/shop")
// never see each other's cookies, and may share a name.
func (m *Manager[T]) nameTaken(r *http.Request) bool {
	o, _ := r.Context().Value(m.nameKey).(interface{ cookiePath() string })
	if o == nil || o == any(m) || !pathsOverlap(o.cookiePath(), m.opts.Path) {
		return false
	}
	m.warnOnce(warnNameConflict, r, fmt.Sprintf("cookiesession: two Managers use the cookie name %q on one request (one's Handler or Get inside the other's Handler); the inner one neither reads nor writes the cookies and reports ErrNameConflict: give each Manager its own Options.Name", m.opts.Name))
	return true
}

// cookiePath is the Path of the Manager's cookies.
func (m *Manager[T]) cookiePath() string { return m.opts.Path }

// pathsOverlap reports whether some request path is within both cookie
// paths a and b (RFC 6265, section 5.1.4): one of them path-matches the
// other.
func pathsOverlap(a, b string) bool {
	return pathWithin(a, b) || pathWithin(b, a)
}

// pathWithin reports whether the request path p path-matches the cookie
// path prefix (RFC 6265, section 5.1.4): the browser sends a cookie of
// Path prefix to p.
func pathWithin(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix) && (strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/')
}

// checkTransport warns, once, when the Manager sets Secure cookies in
// response to r and r looks like a plain-HTTP request from a browser that
// will drop them: no TLS, a host that is not loopback (browsers keep
// Secure cookies from http://localhost), and no sign of a proxy that
// terminated TLS (X-Forwarded-Proto or Forwarded saying https).
func (m *Manager[T]) checkTransport(r *http.Request) {
	if m.opts.InsecureAllowHTTP || r == nil || r.TLS != nil || m.seen.warned[warnPlainHTTP].Load() {
		return
	}
	if r.Host == "" || loopbackHost(r.Host) || forwardedHTTPS(r.Header) {
		return
	}
	m.warnOnce(warnPlainHTTP, r, fmt.Sprintf("cookiesession: Secure cookie %q set in response to a plain-HTTP request for host %q; browsers drop Secure cookies from http:// pages (but for localhost), so every request starts a new session. Serve over HTTPS; behind a proxy that terminates TLS, have it send X-Forwarded-Proto: https (or Forwarded: proto=https); for local development on another host only, set Options.InsecureAllowHTTP", m.opts.Name, r.Host),
		slog.String("host", r.Host))
}

// loopbackHost reports whether host (a Host header, with or without a
// port) names the local machine: localhost, a name under .localhost, or a
// loopback address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	if strings.EqualFold(host, "localhost") || hasSuffixFold(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host) // no allocation, unlike net.ParseIP
	return err == nil && ip.Unmap().IsLoopback()
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// forwardedHTTPS reports whether h says a proxy received the request over
// https: X-Forwarded-Proto: https, or proto=https in Forwarded (RFC 7239).
func forwardedHTTPS(h http.Header) bool {
	for _, v := range h.Values("X-Forwarded-Proto") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "https") {
				return true
			}
		}
	}
	for _, v := range h.Values("Forwarded") {
		for elem := range strings.SplitSeq(v, ",") {
			for pair := range strings.SplitSeq(elem, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(pair), "=")
				if strings.EqualFold(k, "proto") && strings.EqualFold(strings.Trim(val, `"`), "https") {
					return true
				}
			}
		}
	}
	return false
}

// hintOverflow marks a size error from a write without an Overflow store
// whose session would need one, so that its message names Options.Overflow
// rather than only the limit: a session over the cookie budget, or a
// serialized value over MaxDecodedSize that the cookies could not carry
// either.
func (cc *CookieCodec) hintOverflow(err error) {
	if err == nil || cc.overflow != nil {
		return // before errors.As, whose target escapes
	}
	var se *SizeError
	if !errors.As(err, &se) {
		return
	}
	se.noOverflow = se.budget || se.What == "serialized value" && se.Size > cc.limits.TotalSize
}
