// Package defaults holds the default values of cookiesession's options, in
// one place for the core package, which applies them, and for the
// command, the examples and the tests, which show or check them. An
// application reads them in the documentation of each option; the Manager
// in force tells its cookie name with Manager.Name.
package defaults

import "time"

const (
	// HostName is the cookie name when Options.Name is empty and the
	// options allow the "__Host-" prefix: Secure (no InsecureAllowHTTP),
	// Path "/" and no Domain, the defaults. A browser accepts a __Host-
	// cookie only from a secure origin, for the host that set it, with
	// Path "/" and without Domain, so no sibling subdomain and no
	// plain-HTTP page can plant, overwrite or shadow it (nor its chunks,
	// whose names carry the same prefix): in browsers that implement the
	// prefixes, as current ones do, cookie tossing stops at the browser.
	HostName = "__Host-session"

	// Name is the cookie name when Options.Name is empty and the options
	// rule out the "__Host-" prefix: InsecureAllowHTTP (a browser refuses
	// __Host- cookies from a plain-HTTP origin), a Path other than "/", or
	// a Domain. The tossing defences of the server (see ErrAmbiguous)
	// still apply; the browser's do not.
	Name = "session"

	// MaxAge is a session's lifetime when Options.MaxAge is zero, and the
	// lifetime Codec.Encode seals when CodecOptions.MaxAge is zero.
	MaxAge = 30 * 24 * time.Hour

	// CommitMaxAge is how long after Manager.CommitToken a token is
	// accepted when CommitOptions.MaxAge is zero.
	CommitMaxAge = 30 * time.Second

	// CookieSize is the most bytes of name plus value in one cookie when
	// Limits.CookieSize is zero, and what Codec.Encode produces at most
	// when CodecOptions.MaxLength is zero: the package's one per-cookie
	// limit, under the 4096 bytes browsers keep (MaxCookieSize).
	CookieSize = 4000

	// MaxCookieSize is the most Limits.CookieSize may be: browsers drop a
	// cookie whose name and value exceed 4096 bytes.
	MaxCookieSize = 4096

	// MaxChunks is Limits.MaxChunks when zero.
	MaxChunks = 10

	// TotalSize is Limits.TotalSize when zero: a session in an 8 KiB
	// Cookie header line (the default limit of nginx and Apache) with
	// 2 KiB to spare for other cookies.
	TotalSize = 6144
)
